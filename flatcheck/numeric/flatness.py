r"""The quantities of ahn2024 §2.2 for a Problem: Φ, ∂Φ, the manifold gradient ∇_t and the
(ε, ε′)-flatness of Definition 3, plus the assumption checkers of Assumption 1 (local PL constant α,
distance to X*).

Φ comes from the family's closed form where it has one (`problem.known["phi"]`, e.g. the diagonal
network and Example 1) and from integrating the gradient flow otherwise (`flatcheck.numeric.flow`);
a flow that does not converge is reported (`converged` False), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from flatcheck.numeric import flow
from flatcheck.numeric import normalized_trace as tr
from flatcheck.numeric.linalg import proj_out

EXACT_DIM = 8  # up to this d, ∇tr̄ comes from sympy's exact third derivatives


@dataclass
class Flatness:
    """Definition 3 at rows x: dist = ‖x − Φ(x)‖, manifold = ∇_t = ∂Φ(Φ(x))∇tr̄(Φ(x))."""

    phi: torch.Tensor
    dist: torch.Tensor
    manifold: torch.Tensor
    converged: torch.Tensor

    @property
    def manifold_norm(self) -> torch.Tensor:
        return torch.linalg.vector_norm(self.manifold, dim=-1)

    def is_flat(self, eps: float, eps_prime: float) -> torch.Tensor:
        """(ε, ε′)-flat (Definition 3): ‖x − Φ(x)‖ ≤ ε and ‖∂Φ(x*)∇tr̄(x*)‖ ≤ ε′ at x* = Φ(x)."""
        return (self.dist <= eps) & (self.manifold_norm <= eps_prime) & self.converged


def has_closed_phi(problem: Any) -> bool:
    return "phi" in problem.known


def limit_map(problem: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Φ(x), converged) for rows x (B, d)."""
    if has_closed_phi(problem):
        p = problem.known["phi"](x)
        return p, torch.isfinite(p).all(-1)
    res = flow.phi(problem.grad, x)
    return res.point, res.converged


def limit_jacobian(problem: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂Φ(x) (B, d, d), converged) for rows x (B, d)."""
    if has_closed_phi(problem):
        # One reverse pass per output coordinate, all rows at once (cheaper than vmap(jacfwd) here).
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            out = problem.known["phi"](xr)
            rows = [torch.autograd.grad(out[:, i].sum(), xr, retain_graph=True)[0] for i in range(out.shape[-1])]
        jac = torch.stack(rows, dim=1)
        return jac, torch.isfinite(jac).flatten(1).all(-1)
    # A sympy family's compiled Hessian makes the variational equations a matmul (see `flow.dphi`).
    jac, res = flow.dphi(problem.grad, x, hess=getattr(problem, "hess", None))
    return jac, res.converged


def grad_trace_bar(problem: Any, x: torch.Tensor) -> torch.Tensor:
    """∇tr̄ at rows x: from the family's closed form of tr̄ where it has one, exact (sympy) for small d,
    by Hessian-vector products beyond."""
    if "trace_bar" in problem.known:
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(problem.known["trace_bar"](xr).sum(), xr)
        return g
    if problem.d <= EXACT_DIM:
        return problem.grad_trace_bar(x)
    return tr.grad_trace_bar(problem.f, x)


def trace_bar(problem: Any, x: torch.Tensor) -> torch.Tensor:
    if "trace_bar" in problem.known:
        return problem.known["trace_bar"](x)
    return tr.trace_bar(problem.f, x)


def limit_jvp(problem: Any, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂Φ(x)w (B, d), converged) for rows x, w (B, d). Through a closed form: two reverse passes (the
    vector-Jacobian product, then its derivative in the cotangent), not the d of the whole Jacobian."""
    if not has_closed_phi(problem):
        jac, ok = limit_jacobian(problem, x)
        return torch.einsum("bij,bj->bi", jac, w), ok
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        out = problem.known["phi"](xr)
        cotangent = torch.zeros_like(out, requires_grad=True)
        (vjp,) = torch.autograd.grad(out, xr, grad_outputs=cotangent, create_graph=True)
        (jw,) = torch.autograd.grad(vjp, cotangent, grad_outputs=w.detach())
    return jw, torch.isfinite(jw).all(-1)


def flatness(problem: Any, x: torch.Tensor) -> Flatness:
    """Definition 3's two quantities at rows x (B, d)."""
    p, ok = limit_map(problem, x)
    g, ok2 = limit_jvp(problem, p, grad_trace_bar(problem, p))
    return Flatness(p, torch.linalg.vector_norm(x - p, dim=-1), g, ok & ok2)


def pl_constant(problem: Any, xs: torch.Tensor, f_star: torch.Tensor) -> torch.Tensor:
    """The largest α with f(x) − f* ≤ ‖∇f(x)‖²/(2α) at every row of xs (Assumption 1(c)), i.e.
    min ‖∇f‖²/(2(f − f*)) over rows where f > f*; +inf where no row is above f*."""
    gap = problem.f(xs) - f_star
    g2 = (problem.grad(xs) ** 2).sum(-1)
    ratio = torch.where(gap > 0, g2 / (2 * torch.where(gap > 0, gap, 1.0)), torch.full_like(gap, float("inf")))
    return ratio.min()


def trace_change(problem: Any, x: torch.Tensor, x_next: torch.Tensor) -> torch.Tensor:
    """tr̄(Φ(x_next)) − tr̄(Φ(x)) row-wise (the quantity of ahn2024 Lemmas 2–4), by the closed-form Φ."""
    return trace_bar(problem, problem.known["phi"](x_next)) - trace_bar(problem, problem.known["phi"](x))


def circle_mean_trace_change(
    problem: Any, x: torch.Tensor, lr: torch.Tensor, rho: torch.Tensor, nodes: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """E_g[tr̄(Φ(x⁺))] − tr̄(Φ(x)) for one RSP step x⁺ = x − η(∇f(x) + Proj⊥_{∇f(x)}∇f(x + ρg)) with
    g ~ Unif(S¹) (d = 2), for rows x (L, 2), η (L,), ρ (L,).

    The integrand is analytic and 2π-periodic in the angle of g, so the trapezoid rule converges
    geometrically; returns (mean with `nodes` nodes, |difference from nodes/2 nodes|) as the
    quadrature error estimate."""

    def mean(m: int) -> torch.Tensor:
        theta = torch.arange(m, dtype=x.dtype, device=x.device) * (2 * torch.pi / m)
        g = torch.stack([torch.cos(theta), torch.sin(theta)], -1)  # (m, 2)
        xs = x[:, None, :].expand(-1, m, -1)
        gx = problem.grad(xs)
        v = proj_out(gx, problem.grad(xs + rho[:, None, None] * g))
        x_next = xs - lr[:, None, None] * (gx + v)
        return trace_change(problem, xs, x_next).mean(-1)

    full = mean(nodes)
    return full, (full - mean(nodes // 2)).abs()


def example_directions(problem: Any, x: torch.Tensor) -> torch.Tensor:
    """g_i = ∇f_i(x)/‖∇f_i(x)‖ for every example i at rows x (B, d): (n, B, d) (ahn2024 §4.2)."""
    b = x.shape[0]
    gs = torch.stack(
        [problem.grad_example(x, torch.full((b,), i, dtype=torch.long)) for i in range(problem.n_examples)]
    )
    return gs / torch.linalg.vector_norm(gs, dim=-1, keepdim=True)


def sap_mean_perturbation(problem: Any, x: torch.Tensor, rho: torch.Tensor, outer: str = "example") -> torch.Tensor:
    """E v_t of Algorithm 2 exactly — the average over i ∈ [n] and σ = ±1 — at rows x (B, d) with radii
    ρ (B,): v = Proj⊥_{∇f(x)}∇f_i(x + ρσg_i) (outer="example", update (7)), or the full-batch outer
    gradient v′ = Proj⊥_{∇f(x)}∇f(x + ρσg_i) of the proof sketch of Lemma 4 (outer="full")."""
    b, n = x.shape[0], problem.n_examples
    gx = problem.grad(x)
    dirs = example_directions(problem, x)
    total = torch.zeros_like(x)
    for i in range(n):
        idx = torch.full((b,), i, dtype=torch.long)
        for sign in (1.0, -1.0):
            y = x + sign * rho[:, None] * dirs[i]
            outer_grad = problem.grad_example(y, idx) if outer == "example" else problem.grad(y)
            total = total + proj_out(gx, outer_grad)
    return total / (2 * n)
