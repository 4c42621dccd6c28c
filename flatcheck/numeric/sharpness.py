r"""The three sharpness notions of wen2023 Table 1 and their stochastic versions (§4.1), in torch.

- worst-direction  R^max_ρ(x) = max_{‖v‖≤1} L(x + ρv) − L(x)                       (1)
- ascent-direction R^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖) − L(x)  (= ∞ where ∇L = 0)   (2)
- average-direction R^avg_ρ(x) = E_{g~N(0,I)} L(x + ρg/‖g‖) − L(x)  (g/‖g‖ ~ Unif(S^{D−1}))
- stochastic E_k[R^max_{k,ρ}], E_k[R^asc_{k,ρ}]: the same notions on each example L_k, averaged.

R^max is an inner maximisation over the ball. It is *certified*: the value returned is L at a
feasible point (so a lower bound, exact up to float64 round-off), found by projected ascent from
the maximiser of the quadratic model of (4), ± the Hessian's eigenvectors, ± the gradient direction
and random starts; the upper bound comes from the exact, finite Taylor expansion of a polynomial L
at x:  h(v) = Σ_k ρ^k P_k(v), so max h ≤ max_{‖v‖≤1}(ρP₁ + ρ²P₂) + Σ_{k≥3} ρ^k Σ_{|α|=k}|c_α| m_α
with m_α = max_{‖v‖≤1}|v^α| = (Π α_i^{α_i} / |α|^{|α|})^{1/2}, and the quadratic model's maximum over
the ball solved exactly (trust-region subproblem, `ball_quadratic_max`). For a quadratic L the two
bounds coincide: R^max is then exact.

R^asc's limiting regularizer needs Definition 3's inner infimum over points approaching x
(`ascent_sharpness_inf`): R^asc is ∞ on Γ, so its value *at* x says nothing.
R^avg is exact on polynomials by the sphere moment formulas (`average_sharpness_exact`) and a
Monte Carlo mean with antithetic pairs otherwise (`average_sharpness_mc`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
import torch

from flatcheck.numeric.linalg import unit_sphere
from flatcheck.problems import Problem
from flatcheck.problems.local import LocalPolynomial, expand_at
from flatcheck.symbolic import expectation

RHO = sp.Symbol("rho", positive=True)
Fn = Callable[[torch.Tensor], torch.Tensor]


# ---- the quadratic model: max over the ball, exactly ------------------------------------------------
def ball_quadratic_max(b: torch.Tensor, a: torch.Tensor, iters: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """max_{‖z‖≤1} bᵀz + ½Σ a_i z_i² (a diagonal quadratic), batched over leading dims: (value, z).

    KKT: z = b/(μ − a) with μ ≥ max(0, max a) and ‖z‖ ≤ 1, μ(1 − ‖z‖) = 0; μ is found by bisection
    on [max(0, a_max), that + ‖b‖] (‖z(μ)‖ decreases in μ). In the "hard case" (b has no component on
    the top eigenspace and ‖z‖ < 1 at μ = a_max > 0) the rest of the unit norm goes on the top axis."""
    amax = a.max(-1).values
    lo = amax.clamp(min=0.0)
    # ‖z(hi)‖ ≤ ‖b‖/(hi − lo) ≤ ½ even after rounding hi (the 4·eps·lo term keeps hi − lo ≥ 2‖b‖·(1 − eps)).
    hi = lo + 2 * torch.linalg.vector_norm(b, dim=-1) + 4 * torch.finfo(b.dtype).eps * lo + 1e-300

    def z_of(mu: torch.Tensor) -> torch.Tensor:
        den = mu.unsqueeze(-1) - a
        return torch.where(b == 0, torch.zeros_like(b), b / torch.where(den > 0, den, 1.0))

    for _ in range(iters):
        mid = (lo + hi) / 2
        too_long = torch.linalg.vector_norm(z_of(mid), dim=-1) > 1
        new_lo, new_hi = torch.where(too_long, mid, lo), torch.where(too_long, hi, mid)
        # Once no bracket moves, every later iteration leaves it as it is (mid rounds to an end).
        if torch.equal(new_lo, lo) and torch.equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    z = z_of(hi)
    # Hard case: lengthen the top-axis component to reach ‖z‖ = 1, with the sign of b there (μ = a_max
    # leaves that component free; when ‖z‖ = 1 already this changes nothing).
    short = (1 - (z * z).sum(-1)).clamp(min=0.0)
    top = torch.nn.functional.one_hot(a.argmax(-1), a.shape[-1]).bool()
    zt, bt = (z * top).sum(-1), (b * top).sum(-1)
    sign = torch.where(bt < 0, -1.0, 1.0).to(z.dtype)
    filled = torch.where(amax > 0, sign * (zt * zt + short).sqrt(), zt)
    z = torch.where(top, filled.unsqueeze(-1), z)
    return (b * z).sum(-1) + 0.5 * (a * z * z).sum(-1), z


def model_max(g: torch.Tensor, hess: torch.Tensor, rho: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sup_{‖v‖≤1} ρvᵀg + ½ρ²vᵀHv — the bracket of (4) without its O(ρ³) — and its maximiser v.

    g (..., D), hess (..., D, D), rho (...)."""
    lam, q = torch.linalg.eigh(hess)
    r = rho.unsqueeze(-1)
    b = r * (q.transpose(-1, -2) @ g.unsqueeze(-1)).squeeze(-1)
    value, z = ball_quadratic_max(b, r * r * lam)
    return value, (q @ z.unsqueeze(-1)).squeeze(-1)


# ---- projected ascent over the unit ball ---------------------------------------------------------------
def project_ball(v: torch.Tensor) -> torch.Tensor:
    n = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    return torch.where(n > 1, v / n.clamp(min=1e-300), v)


def ball_ascent(
    objective: Fn, v: torch.Tensor, step: torch.Tensor, iters: int, gradient: Fn | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximise a batched objective (..., D) -> (...) over ‖v‖ ≤ 1 by projected gradient ascent with a
    per-row step that grows ×1.5 on an improving step and halves (rejecting the step) otherwise:
    every accepted iterate is feasible and the value never decreases. `gradient`: the objective's
    gradient in closed form (else autograd)."""
    val = objective(v)
    for _ in range(iters):
        if gradient is not None:
            gr = gradient(v)
        else:
            with torch.enable_grad():
                vr = v.detach().requires_grad_(True)
                (gr,) = torch.autograd.grad(objective(vr).sum(), vr)
        cand = project_ball(v + step.unsqueeze(-1) * gr)
        cv = objective(cand)
        better = cv >= val
        v = torch.where(better.unsqueeze(-1), cand, v)
        val = torch.where(better, cv, val)
        step = torch.where(better, step * 1.5, step * 0.5)
    return v, val


def random_ball_points(shape: tuple[int, ...], d: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """Uniform draws in the unit ball B^d: a sphere direction times U^{1/d}."""
    u = torch.rand(*shape, 1, generator=generator, dtype=dtype)
    return unit_sphere(shape, d, generator, dtype) * u ** (1.0 / d)


# ---- worst-direction sharpness R^max, certified ---------------------------------------------------------
@dataclass
class WorstSharpness:
    """R^max_ρ(x) ∈ [value, upper] for each ρ; `direction` is the maximiser found (‖v‖ ≤ 1)."""

    value: torch.Tensor
    upper: torch.Tensor
    direction: torch.Tensor

    @property
    def gap(self) -> torch.Tensor:
        return self.upper - self.value


def worst_sharpness(
    lp: LocalPolynomial, rhos: torch.Tensor, generator: torch.Generator, random_starts: int = 8, iters: int = 60
) -> WorstSharpness:
    """R^max_ρ at the exact point x of a polynomial L (given by its exact local expansion h(z) = L(x+z) − L(x),
    `flatcheck.problems.local`) for every ρ in `rhos` (R,), certified (module docstring)."""
    d, r = lp.d, len(rhos)
    g, hess = lp.gradient_tensor(), lp.hessian_tensor()
    model, v_model = model_max(g.expand(r, d), hess.expand(r, d, d), rhos)
    upper = model + sum(b * rhos**k for k, b in enumerate(lp.tail_bounds) if k >= 3)
    if lp.degree <= 2:
        # L of degree ≤ 2 equals its quadratic model: the model maximum is R^max exactly.
        return WorstSharpness(model, model, v_model)
    _, q = torch.linalg.eigh(hess)
    ghat = g / torch.linalg.vector_norm(g).clamp(min=1e-300)
    fixed = torch.cat([q.T, -q.T, ghat[None], -ghat[None]])
    starts = torch.cat(
        [v_model[:, None], fixed.expand(r, -1, -1), random_ball_points((r, random_starts), d, generator)], dim=1
    )
    rr = rhos[:, None, None]
    scale = rhos * torch.linalg.vector_norm(g) + rhos**2 * torch.linalg.matrix_norm(hess, ord=2)
    step = (1.0 / scale.clamp(min=1e-300))[:, None].expand_as(starts[..., 0]).clone()
    # ∇_v h(ρv) = ρ∇h(ρv), from h's exact derivative coefficients (no autograd graph per iteration).
    v, val = ball_ascent(lambda u: lp(rr * u), starts, step, iters, lambda u: rr * lp.grad(rr * u))
    best = val.argmax(-1)
    idx = torch.arange(r)
    return WorstSharpness(val[idx, best], upper, v[idx, best])


# ---- ascent-direction sharpness R^asc and Definition 3's infimum ------------------------------------------
def ascent_sharpness(
    f: Fn, grad: Fn, x: torch.Tensor, rho: torch.Tensor, grad_floor: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """R^asc_ρ(x) = L(x + ρ∇L/‖∇L‖) − L(x), batched over x (..., D) and rho (...); ∞ where ∇L(x) = 0
    (wen2023 §3.1: an undefined regularizer is taken as ∞). `grad_floor`: the round-off level of the
    computed ∇L — below it the computed direction is noise, not ∇L/‖∇L‖, and the point counts as ∇L = 0."""
    g = grad(x)
    n = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    step = rho.unsqueeze(-1) * g / n.clamp(min=1e-300)
    return torch.where(n.squeeze(-1) > grad_floor, f(x + step) - f(x), torch.full_like(rho, math.inf))


def local_ascent_sharpness(lp: LocalPolynomial) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """z, rho ↦ R^asc_ρ(x + z) from the exact local expansion of L at x (no cancellation against L(x))."""
    return lambda z, rho: ascent_sharpness(
        lp, lp.grad, z, rho, lp.gradient_roundoff(torch.linalg.vector_norm(z.detach(), dim=-1))
    )


def ascent_sharpness_inf(
    regularizer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    rhos: torch.Tensor,
    radii: torch.Tensor,
    generator: torch.Generator,
    starts: int = 8,
    iters: int = 40,
    seeds: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """inf_{‖x'−x‖≤r} R_ρ(x') for each (ρ, r) pair (Definition 3's inner infimum), by projected descent
    over x' = x + r·w from `starts` random w in the unit ball and ± each row of `seeds` (unit vectors, e.g.
    the eigenvectors of ∇²L(x): near Γ the ascent direction of x + r·v is ≈ ∇²L v/‖∇²L v‖, so these
    starts reach every eigen-direction at once). `regularizer(x', rho)` is batched.

    Returns (the best value found — an upper bound on the infimum —, the minimising x')."""
    d = x.shape[-1]
    r = len(rhos)
    rr, pp = radii[:, None, None], rhos[:, None]

    def objective(w: torch.Tensor) -> torch.Tensor:
        val = regularizer(x + rr * w, pp.expand(w.shape[:-1])) / pp**2
        # Γ itself (∇L = 0, R = ∞) is never a minimiser; keep the ascent finite there.
        return -torch.where(torch.isfinite(val), val, torch.full_like(val, 1e300))

    w0 = random_ball_points((r, starts), d, generator)
    if seeds is not None:
        w0 = torch.cat([torch.cat([seeds, -seeds]).expand(r, -1, -1), w0], dim=1)
    w, val = ball_ascent(objective, w0, torch.full(w0.shape[:-1], 0.1, dtype=torch.float64), iters)
    best = val.argmax(-1)
    idx = torch.arange(r)
    return -val[idx, best] * rhos**2, x + radii[:, None] * w[idx, best]


# ---- average-direction sharpness R^avg -----------------------------------------------------------------
def average_sharpness_exact(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], point: list[sp.Rational]) -> sp.Expr:
    """R^avg_ρ(x) exactly, as a polynomial in ρ (the symbol `RHO`): E_s L(x + ρs) − L(x), s ~ Unif(S^{D−1}),
    by the sphere moment formulas (g/‖g‖ for g ~ N(0, I) is uniform on the sphere)."""
    ss = sp.symbols(f"_s0:{len(symbols)}", real=True)
    lp = expand_at(expr, symbols, point)
    shifted = sum(c * sp.prod([(RHO * s) ** a for s, a in zip(ss, alpha)]) for alpha, c in lp.terms)
    return sp.expand(expectation(sp.expand(shifted), ss, "sphere"))


def average_sharpness_samples(
    f: Fn, x: torch.Tensor, rhos: torch.Tensor, n: int, generator: torch.Generator
) -> torch.Tensor:
    """n/2 antithetic pair means ½(L(x+ρs) + L(x−ρs)) − L(x), s ~ Unif(S^{D−1}), for each ρ: (n//2, R).
    The pairs are i.i.d. with mean R^avg_ρ(x) (s and −s have the same law)."""
    s = unit_sphere((n // 2,), x.shape[-1], generator)
    step = rhos[None, :, None] * s[:, None, :]
    return 0.5 * (f(x + step) + f(x - step)) - f(x)


# ---- stochastic versions (wen2023 §4.1): the notions on each L_k, averaged over k ---------------------------
def example_expansions(problem: Problem, point: list[sp.Rational]) -> list[LocalPolynomial]:
    """The exact local expansion of every example L_k at x."""
    if not problem.examples:
        raise ValueError(f"{problem.family} has no per-example split; the stochastic sharpness needs one")
    return [expand_at(e, problem.symbols, point) for e in problem.examples]


def stochastic_worst_sharpness(
    lps: list[LocalPolynomial], rhos: torch.Tensor, generator: torch.Generator
) -> WorstSharpness:
    """E_k[R^max_{k,ρ}](x) = (1/M) Σ_k R^max_{k,ρ}(x), certified term by term."""
    parts = [worst_sharpness(lp, rhos, generator) for lp in lps]
    n = len(parts)
    return WorstSharpness(
        sum(p.value for p in parts) / n, sum(p.upper for p in parts) / n, torch.stack([p.direction for p in parts], 1)
    )


def stochastic_ascent_sharpness(lps: list[LocalPolynomial]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """z, rho ↦ E_k[R^asc_{k,ρ}](x + z) = (1/M) Σ_k R^asc_{k,ρ}(x + z), batched (∞ where some ∇L_k = 0)."""
    parts = [local_ascent_sharpness(lp) for lp in lps]
    return lambda z, rho: sum(p(z, rho) for p in parts) / len(parts)


# ---- precision of R_ρ/ρ² -------------------------------------------------------------------------------------
# The inner solvers (projected ascent for the max, projected descent for the inf) stop after a fixed number of
# steps; the value they reach is resolved to this relative accuracy on R_ρ/ρ², no finer: for an inf that is
# approached but not attained (x′ → Γ along a degenerate direction, e.g. M = 1) the value is still creeping
# down at the 1e-9 to 1e-6 level when they stop. Residuals of a limit below it are not resolved (a wrong limit is off
# by O(1); a right one leaves O(ρ) ≥ 1e-3 at the smallest ρ used).
SOLVER_RTOL = 1e-5


def ratio_floor(lps: list[LocalPolynomial], rho_min: float, scale: float = 0.0) -> float:
    """Resolution of R_ρ/ρ² for ρ ≥ rho_min (≤ 1): round-off — 128 eps times h's monomial scale at radius 2ρ
    (an evaluation at z and one at z + ρu, ‖z‖ ≤ ρ), over ρ² — plus SOLVER_RTOL times `scale` (the size of
    R_ρ/ρ² itself) for values that come out of an inner max/inf."""
    eps = torch.finfo(torch.float64).eps
    return 128 * eps * max(lp.roundoff(2 * rho_min) for lp in lps) / rho_min**2 + SOLVER_RTOL * abs(scale)
