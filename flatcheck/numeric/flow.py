r"""Φ, the limit map of gradient flow (ahn2024 Definition 1; wen2023 §3), and its derivatives.

    ẋ(t) = −∇f(x(t)),  x(0) = x,  Φ(x) = lim_{t→∞} x(t).

The flow is integrated by an adaptive, batched Dormand–Prince 5(4) scheme (every row of x is an
independent flow with its own step size) until ‖∇f(x(t))‖ ≤ tol. A row that has not got there
within `max_steps` accepted steps, or that left the finite numbers, is reported as not converged
— Φ is never guessed.

Derivatives come from the variational equations along the same flow (differentiating the ODE):

    ∂Φ(x)u:        ẏ = −∇²f(x(t)) y,                         y(0) = u
    ∂²Φ(x)[u, u]:  ż = −∇²f(x(t)) z − ∇³f(x(t))[y, y],        z(0) = 0

Hessian products are reverse-mode derivatives of ⟨∇f(x), v⟩, the third-derivative term the
gradient of yᵀ∇²f(x)y, so `grad` can be any batched torch function (B, d) -> (B, d): a sympy-compiled
gradient or autograd of a network loss. `dphi_fd` is the independent cross-check by central finite
differences of Φ itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Grad = Callable[[torch.Tensor], torch.Tensor]

# Dormand–Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Nørsett, Wanner, Table II.5.2).
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_STABLE = 0.05  # error estimate allowed per unit of the step's own change
_EXTRA_TOL = 100.0  # the variational parts stop at 100·tol (their scale is ‖∂Φ‖ ≈ 1)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)


@dataclass
class FlowResult:
    """The end of the flow for each row: `point` (B, d) is Φ(x) where `converged` (B,) holds.

    grad_norm: ‖∇f‖ at the returned point; time: flow time reached; steps: accepted steps taken;
    tangent: the variational parts integrated alongside (∂Φ(x)u columns, ∂²Φ[u,u]), when asked."""

    point: torch.Tensor
    converged: torch.Tensor
    grad_norm: torch.Tensor
    time: torch.Tensor
    steps: torch.Tensor
    tangent: torch.Tensor | None = None

    @property
    def all_converged(self) -> bool:
        return bool(self.converged.all())


def _dopri(
    rhs: Callable[[torch.Tensor], torch.Tensor],
    y: torch.Tensor,
    done: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    rtol: float,
    atol: float,
    max_steps: int,
    h0: float,
    on_step: Callable[[torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Integrate ẏ = rhs(y) row-wise until done(y, rhs(y)) (B,) holds for every row or max_steps.

    Returns (y, finished (B,), time (B,), accepted steps (B,)). Rows that are done stop moving.
    The last stage is evaluated at the accepted point (the tableau's last row is the 5th-order
    weights), so it is the next step's first stage and what `done` is given: six evaluations of
    rhs per step instead of eight."""
    b = y.shape[0]
    h = torch.full((b,), h0, dtype=y.dtype, device=y.device)
    t = torch.zeros(b, dtype=y.dtype, device=y.device)
    steps = torch.zeros(b, dtype=torch.long, device=y.device)
    slope = rhs(y)
    finished = done(y, slope)
    for _ in range(8 * max_steps):
        active = ~finished & (steps < max_steps) & torch.isfinite(y).all(-1)
        if not bool(active.any()):
            break
        idx = active.nonzero().squeeze(-1)
        ya, ha = y[idx], h[idx, None]
        ks = [slope[idx]]
        for a_row in _A[1:]:
            ks.append(rhs(ya + ha * sum(a * k for a, k in zip(a_row, ks))))
        y5 = ya + ha * sum(b_ * k for b_, k in zip(_B5, ks) if b_)
        y4 = ya + ha * sum(b_ * k for b_, k in zip(_B4, ks) if b_)
        scale = atol + rtol * torch.maximum(ya.abs(), y5.abs())
        err = torch.sqrt((((y5 - y4) / scale) ** 2).mean(-1))
        # Near a minimum the increments fall below atol + rtol·|y| and an explicit scheme would
        # be accepted beyond its stability limit (the iterate then hovers at the tolerance instead
        # of converging): also require the error estimate to be small against the step itself.
        change = torch.linalg.vector_norm(y5 - ya, dim=-1)
        err = torch.maximum(err, torch.linalg.vector_norm(y5 - y4, dim=-1) / (_STABLE * change + 1e-300))
        ok = (err <= 1.0) & torch.isfinite(y5).all(-1)
        factor = torch.clamp(0.9 * torch.where(err > 0, err, 1e-10) ** -0.2, 0.2, 5.0)
        factor = torch.where(torch.isfinite(err), factor, torch.full_like(factor, 0.2))
        acc = idx[ok]
        y[acc] = y5[ok]
        slope[acc] = ks[-1][ok]
        t[acc] += h[acc]
        steps[acc] += 1
        h[idx] = ha.squeeze(-1) * factor
        finished[acc] = done(y[acc], slope[acc])
        if on_step is not None:
            on_step(y)
    return y, finished, t, steps


def _grad_norm(grad: Grad, x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(grad(x), dim=-1)


def _slope_below(tol: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The gradient flow's stopping rule ‖∇f‖ ≤ tol, read from the slope −∇f that `_dopri` has."""
    return lambda y, slope: torch.linalg.vector_norm(slope, dim=-1) <= tol


def phi(
    grad: Grad,
    x: torch.Tensor,
    tol: float = 1e-11,
    max_steps: int = 4000,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> FlowResult:
    """Φ(x) for each row of x (B, d) (or a single (d,) point): the gradient flow run until
    ‖∇f‖ ≤ tol. Check `converged` before using `point`."""
    single = x.dim() == 1
    xb = x.detach().reshape(-1, x.shape[-1]).clone()
    y, fin, t, steps = _dopri(lambda z: -grad(z), xb, _slope_below(tol), rtol, atol, max_steps, 1e-2)
    res = FlowResult(y, fin & torch.isfinite(y).all(-1), _grad_norm(grad, y), t, steps)
    return _squeeze(res) if single else res


def trajectory(
    grad: Grad, x: torch.Tensor, tol: float = 1e-11, max_steps: int = 4000
) -> tuple[torch.Tensor, FlowResult]:
    """The states x(t) after every step of the flow from rows x (B, d), as (k, B, d), with the end
    (the flow of `phi`): the points where Assumption 1 must hold along the way to Φ(x)."""
    xb = x.detach().reshape(-1, x.shape[-1]).clone()
    states = [xb.clone()]
    y, fin, t, steps = _dopri(
        lambda z: -grad(z),
        xb,
        _slope_below(tol),
        1e-9,
        1e-12,
        max_steps,
        1e-2,
        lambda y_: states.append(y_.clone()),
    )
    res = FlowResult(y, fin & torch.isfinite(y).all(-1), _grad_norm(grad, y), t, steps)
    return torch.stack(states), res


def _hvp(grad: Grad, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """∇²f(x)v row-wise: the gradient of ⟨∇f(x), v⟩ (∇²f is symmetric)."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        (hv,) = torch.autograd.grad((grad(xr) * v).sum(), xr)
    return hv


def _third(grad: Grad, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇³f(x)[y, y] row-wise: the gradient of yᵀ∇²f(x)y."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        (hy,) = torch.autograd.grad((grad(xr) * y).sum(), xr, create_graph=True)
        (t,) = torch.autograd.grad((hy * y).sum(), xr)
    return t


def _flow_with(
    grad: Grad,
    x: torch.Tensor,
    extra: torch.Tensor,
    extra_rhs: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    tol: float,
    max_steps: int,
    rtol: float,
    atol: float,
) -> FlowResult:
    """The flow of x (B, d) together with an extra state (B, m) whose derivative is extra_rhs(x, e)."""
    d = x.shape[-1]

    def rhs(s: torch.Tensor) -> torch.Tensor:
        xs, es = s[:, :d], s[:, d:]
        return torch.cat([-grad(xs), extra_rhs(xs, es)], dim=-1)

    def done(s: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        # The variational parts converge at the flow's own rate but from their own start (J = I
        # on X* still has to lose its normal part): stop when they too have settled.
        return (torch.linalg.vector_norm(r[:, :d], dim=-1) <= tol) & (r[:, d:].abs().amax(-1) <= _EXTRA_TOL * tol)

    s0 = torch.cat([x.detach(), extra], dim=-1).clone()
    s, fin, t, steps = _dopri(rhs, s0, done, rtol, atol, max_steps, 1e-2)
    y = s[:, :d]
    return FlowResult(y, fin & torch.isfinite(s).all(-1), _grad_norm(grad, y), t, steps, s[:, d:])


def dphi(
    grad: Grad,
    x: torch.Tensor,
    tol: float = 1e-11,
    max_steps: int = 4000,
    rtol: float = 1e-9,
    atol: float = 1e-13,
    hess: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, FlowResult]:
    """∂Φ(x), the Jacobian of the limit map, for each row of x (B, d): returns ((B, d, d), flow).

    Integrates J̇ = −∇²f(x(t)) J, J(0) = I, along the flow (all d columns at once). `hess` (B, d) ->
    (B, d, d), an exact Hessian where the caller has one (a compiled sympy Hessian), replaces the d
    Hessian-vector products per row: one evaluation and a batched matmul instead of a backward pass."""
    single = x.dim() == 1
    xb = x.detach().reshape(-1, x.shape[-1])
    b, d = xb.shape

    def jac_rhs(xs: torch.Tensor, js: torch.Tensor) -> torch.Tensor:
        if hess is not None:
            return -(hess(xs) @ js.reshape(-1, d, d)).reshape(-1, d * d)
        cols = js.reshape(-1, d, d).transpose(1, 2).reshape(-1, d)  # (B·d, d): columns of J
        xr = xs[:, None, :].expand(-1, d, -1).reshape(-1, d).clone()
        hc = -_hvp(grad, xr, cols)
        return hc.reshape(-1, d, d).transpose(1, 2).reshape(-1, d * d)

    eye = torch.eye(d, dtype=xb.dtype, device=xb.device).reshape(1, d * d).expand(b, -1)
    res = _flow_with(grad, xb, eye, jac_rhs, tol, max_steps, rtol, atol)
    jac = res.tangent.reshape(b, d, d)
    res.tangent = None
    return (jac[0], _squeeze(res)) if single else (jac, res)


def d2phi(
    grad: Grad,
    x: torch.Tensor,
    u: torch.Tensor,
    tol: float = 1e-11,
    max_steps: int = 4000,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> tuple[torch.Tensor, torch.Tensor, FlowResult]:
    """(∂Φ(x)u, ∂²Φ(x)[u, u], flow) for rows x, u (B, d), from the first and second variational
    equations ẏ = −∇²f y, ż = −∇²f z − ∇³f[y, y]."""
    single = x.dim() == 1
    xb = x.detach().reshape(-1, x.shape[-1])
    ub = u.detach().reshape(-1, x.shape[-1]).to(xb)
    d = xb.shape[-1]

    def second_rhs(xs: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        y, z = e[:, :d], e[:, d:]
        return torch.cat([-_hvp(grad, xs, y), -_hvp(grad, xs, z) - _third(grad, xs, y)], dim=-1)

    res = _flow_with(grad, xb, torch.cat([ub, torch.zeros_like(ub)], -1), second_rhs, tol, max_steps, rtol, atol)
    first, second = res.tangent[:, :d], res.tangent[:, d:]
    res.tangent = None
    if single:
        return first[0], second[0], _squeeze(res)
    return first, second, res


def dphi_fd(grad: Grad, x: torch.Tensor, h: float = 1e-4, tol: float = 1e-13) -> tuple[torch.Tensor, bool]:
    """∂Φ(x) at one point x (d,) by central differences of Φ: an independent cross-check of
    `dphi` (error O(h²) + O(tol/h)). Returns (Jacobian (d, d), every flow converged)."""
    d = x.shape[-1]
    e = torch.eye(d, dtype=x.dtype, device=x.device)
    pts = torch.cat([x + h * e, x - h * e])
    res = phi(grad, pts, tol=tol, rtol=1e-13, atol=1e-15)
    jac = (res.point[:d] - res.point[d:]).T / (2 * h)
    return jac, res.all_converged


def manifold_gradient(
    grad: Grad, grad_trace_bar: Grad, x: torch.Tensor, tol: float = 1e-11
) -> tuple[torch.Tensor, torch.Tensor, FlowResult]:
    """∇_t = ∂Φ(Φ(x))∇tr̄(Φ(x)) (ahn2024 Lemma 2, Definition 2) for rows of x (B, d).

    Returns (∇_t (B, d), Φ(x) (B, d), the flow from Φ(x) whose `converged` says where ∂Φ is valid)."""
    xb = x.detach().reshape(-1, x.shape[-1])
    p = phi(grad, xb, tol=tol)
    jac, res = dphi(grad, p.point, tol=tol)
    res.converged = res.converged & p.converged
    g = torch.einsum("bij,bj->bi", jac, grad_trace_bar(p.point))
    return g, p.point, res


def _squeeze(res: FlowResult) -> FlowResult:
    return FlowResult(
        res.point[0],
        res.converged[0],
        res.grad_norm[0],
        res.time[0],
        res.steps[0],
        None if res.tangent is None else res.tangent[0],
    )
