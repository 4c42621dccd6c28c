"""Exact predictions of one step of the papers' algorithms, for the step-identity claims.

A prediction is evaluated from the sympy expressions of f and f_i with mpmath at `DPS` digits
(the points are rational, so it is exact to far below float64). An implementation computes the
same step in float64, so the two may differ by round-off only: the tolerance is `ROUNDOFF`·ε times
a first-order bound of how rounding errors of the gradient evaluations propagate through the step.
The bound uses the *absolute* polynomial |f|: Σ|c_α||z^α| of each gradient component bounds the
magnitude of what is summed when it is evaluated at z (the round-off scale), and the same for
the Hessian entries on a ball bounds the Lipschitz constant that carries a perturbed evaluation
point's error into the gradient.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import mpmath
import sympy as sp
import torch

from flatcheck.problems import Problem
from flatcheck.problems.compile import to_mpmath, to_torch
from flatcheck.stats import mean_interval
from flatcheck.symbolic import expectation

DPS = 40
# Float64 operations per evaluated term are O(degree + d); 256 covers them with room to spare
# while staying ~1e-13 relative — far below any algorithmic error (those are O(ρ), O(η)).
ROUNDOFF = 256
EPS = torch.finfo(torch.float64).eps

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(problem: Problem, key: Any, make: Callable[[], Any]) -> Any:
    store = _cache.setdefault(problem, {})
    if key not in store:
        store[key] = make()
    return store[key]


def loss_expr(problem: Problem, index: int | None = None) -> sp.Expr:
    """f, or the per-example loss f_i."""
    return problem.expr if index is None else problem.examples[index]


def grad_exprs(problem: Problem, index: int | None = None) -> list[sp.Expr]:
    if index is None:
        return problem.grad_expr
    e = loss_expr(problem, index)
    return _cached(problem, ("grad", index), lambda: [sp.diff(e, s) for s in problem.symbols])


def grad_mp(problem: Problem, index: int | None = None) -> Callable[[list], list]:
    """The exact gradient of f (or f_i) as an mpmath function of a point."""
    return _cached(problem, ("grad_mp", index), lambda: to_mpmath(problem.symbols, tuple(grad_exprs(problem, index))))


def abs_tree(expr: sp.Expr) -> sp.Expr:
    """The expression with every coefficient replaced by its absolute value, tree as written (no
    expansion): evaluated at |z| it bounds every partial sum formed when evaluating expr at z."""
    if expr.is_Number:
        return abs(expr)
    if expr.is_Symbol:
        return expr
    if expr.is_Add or expr.is_Mul:
        return expr.func(*[abs_tree(a) for a in expr.args])
    if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
        return abs_tree(expr.base) ** expr.exp
    raise ValueError(f"round-off scales are derived for polynomials only, not {expr.func.__name__}")


@lru_cache(maxsize=1024)
def _abs_compiled(symbols: tuple[sp.Symbol, ...], exprs: tuple[sp.Expr, ...]) -> Callable:
    # One compile per expression in the process (instances recur while hypothesis shrinks).
    return sp.lambdify(symbols, [abs_tree(e) for e in exprs], "math", docstring_limit=0)


def _abs_vector(exprs: list[sp.Expr], symbols: tuple[sp.Symbol, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    f = _abs_compiled(tuple(symbols), tuple(exprs))
    return lambda z: torch.tensor(f(*[abs(float(v)) for v in z]), dtype=torch.float64)


def grad_scale(problem: Problem, z: torch.Tensor, index: int | None = None) -> torch.Tensor:
    """Round-off scale of each gradient component of f (or f_i) at z."""
    return _cached(problem, ("gabs", index), lambda: _abs_vector(grad_exprs(problem, index), problem.symbols))(z)


def grad_lipschitz(problem: Problem, z: torch.Tensor, index: int | None = None) -> torch.Tensor:
    """Per gradient component j, a bound of Σ_k |∂_k∂_j f| on the box {|y| ≤ |z| + 1}: with A_j the
    absolute polynomial of ∂_j f, t ↦ A_j(|z| + t·1) is convex and increasing, so its slope at any
    t ∈ [0, 1] is at most A_j(|z| + 2) − A_j(|z| + 1). An evaluation point off by δ (‖δ‖_∞ ≤ 1) moves
    ∂_j f by at most that bound times ‖δ‖_∞ — no Hessian needed."""
    a = z.abs()
    return grad_scale(problem, a + 2, index) - grad_scale(problem, a + 1, index)


def mp_point(x: list) -> list:
    return [mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in x]


def mp_norm(v: list) -> mpmath.mpf:
    return mpmath.sqrt(mpmath.fsum(c * c for c in v))


def to_tensor(v: list) -> torch.Tensor:
    return torch.tensor([float(c) for c in v], dtype=torch.float64)


@dataclass
class Prediction:
    """The predicted next iterate and the round-off tolerance per coordinate."""

    value: torch.Tensor
    tol: torch.Tensor
    values: dict[str, Any] = field(default_factory=dict)


def _tolerance(x: torch.Tensor, lr: float, scale: torch.Tensor) -> torch.Tensor:
    return ROUNDOFF * EPS * (x.abs() + lr * scale)


def _ascent_point(problem: Problem, x: list, rho: float, index: int | None, sign: int = 1):
    """(y = x + σρ∇/‖∇‖ in mpmath, ∇ at x, ‖∇‖, the round-off scale of y's error) or None if ∇ = 0."""
    with mpmath.workdps(DPS):
        xm = mp_point(x)
        g = grad_mp(problem, index)(xm)
        n = mp_norm(g)
        if n == 0:
            return None
        y = [a + sign * rho * c / n for a, c in zip(xm, g)]
    xt = to_tensor(xm)
    kappa = float(torch.linalg.vector_norm(grad_scale(problem, xt, index))) / float(n)
    # Error of y: ρ·(relative error of the normalised gradient) + rounding of x + ρĝ.
    y_err = rho * (1 + kappa) + float(xt.abs().max()) + rho
    return y, g, n, y_err


def sam_prediction(problem: Problem, x: list, lr: float, rho: float, index: int | None = None) -> Prediction | None:
    """x − η∇L(x + ρ∇L(x)/‖∇L(x)‖) (wen2023 (3)); with index=k the per-example step (7).
    None where ∇L(x) (or ∇L_k(x)) vanishes: the step is undefined there."""
    at = _ascent_point(problem, x, rho, index)
    if at is None:
        return None
    y, _, n, y_err = at
    with mpmath.workdps(DPS):
        w = grad_mp(problem, index)(y)
        value = [a - lr * c for a, c in zip(mp_point(x), w)]
    xt, yt = to_tensor(mp_point(x)), to_tensor(y)
    scale = grad_scale(problem, yt, index) + grad_lipschitz(problem, yt, index) * y_err
    return Prediction(to_tensor(value), _tolerance(xt, lr, scale), {"grad_norm": float(n)})


def sap_prediction(
    problem: Problem,
    x: list,
    index: int,
    sign: int,
    *,
    lr: float,
    lr_prime: float,
    rho: float,
    eps0: float,
) -> Prediction | None:
    """ahn2024 (7) for example `index` and sign σ: x − η(∇f + Proj⊥_{∇f}∇f_i(x + ρσ∇f_i/‖∇f_i‖)) when
    ‖∇f(x)‖ ≤ ε₀, else x − η′∇f(x). None where ∇f_i(x) = 0 (Remark 2's random fallback) or ∇f(x) = 0."""
    with mpmath.workdps(DPS):
        xm = mp_point(x)
        gx = grad_mp(problem)(xm)
        gn = mp_norm(gx)
    xt = to_tensor(xm)
    full_scale = grad_scale(problem, xt)
    if gn == 0:
        return None
    if float(gn) > eps0:
        with mpmath.workdps(DPS):
            value = [a - lr_prime * c for a, c in zip(xm, gx)]
        return Prediction(to_tensor(value), _tolerance(xt, lr_prime, full_scale), {"branch": "gradient"})
    at = _ascent_point(problem, x, rho, index, sign)
    if at is None:
        return None
    y, _, _, y_err = at
    with mpmath.workdps(DPS):
        w = grad_mp(problem, index)(y)
        coef = mpmath.fsum(a * b for a, b in zip(gx, w)) / (gn * gn)
        value = [a - lr * (g + c - coef * g) for a, g, c in zip(xm, gx, w)]
    yt = to_tensor(y)
    w_scale = grad_scale(problem, yt, index) + grad_lipschitz(problem, yt, index) * y_err
    # The projection multiplies w's error by at most 2 and adds ‖w‖ times the relative error of ∇f.
    kappa = float(torch.linalg.vector_norm(full_scale)) / float(gn)
    scale = full_scale + 2 * w_scale + float(mp_norm(w)) * (1 + kappa)
    return Prediction(to_tensor(value), _tolerance(xt, lr, scale), {"branch": "perturbed"})


def ascent_prediction(problem: Problem, x: list, lr: float, rho: float) -> Prediction | None:
    """x − η∇L^asc_ρ(x) (wen2023 (2)), the gradient of L(x + ρ∇L(x)/‖∇L(x)‖) by sympy's own chain
    rule: ∇L^asc(x) = (I + ρ·∂(∇L/‖∇L‖)/∂x)ᵀ ∇L(y), the Jacobian differentiated symbolically."""
    at = _ascent_point(problem, x, rho, None)
    if at is None:
        return None
    y, _, n, y_err = at

    def make() -> sp.Matrix:
        g = sp.Matrix(grad_exprs(problem))
        unit = g / sp.sqrt((g.T * g)[0])
        return unit.jacobian(sp.Matrix(problem.symbols))

    jac = _cached(problem, "unit_grad_jacobian", make)
    at_x = dict(zip(problem.symbols, [sp.Rational(v) for v in x]))
    with mpmath.workdps(DPS):
        j = [[mpmath.mpf(sp.N(e.subs(at_x), DPS)) for e in row] for row in jac.tolist()]
        w = grad_mp(problem)(y)
        d = len(w)
        jtw = [mpmath.fsum(j[a][b] * w[a] for a in range(d)) for b in range(d)]
        value = [c - lr * (wb + rho * t) for c, wb, t in zip(mp_point(x), w, jtw)]
    xt, yt = to_tensor(mp_point(x)), to_tensor(y)
    beta_x = float(grad_lipschitz(problem, xt).max())
    w_scale = grad_scale(problem, yt) + grad_lipschitz(problem, yt) * y_err
    kappa = float(torch.linalg.vector_norm(grad_scale(problem, xt))) / float(n)
    # ρH(I − ĝĝᵀ)w/‖g‖: w's error, the Hessian's round-off and the normalisation's, each through ρβ/‖g‖.
    w_norm = float(mp_norm(w))
    scale = w_scale + rho * beta_x / float(n) * (3 * w_scale + w_norm * (2 + kappa))
    return Prediction(to_tensor(value), _tolerance(xt, lr, scale), {"grad_norm": float(n)})


def compare(actual: torch.Tensor, pred: Prediction) -> tuple[bool, float, float]:
    """(every coordinate within tolerance, margin = min (tol − err)/tol, max |error|)."""
    err = (actual.cpu() - pred.value).abs()
    return bool((err <= pred.tol).all()), margin(pred.tol, err), float(err.max())


def step_against_prediction(
    impl, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int, pred: Prediction
) -> tuple[bool, float, dict[str, Any]]:
    """One step of the implementation from x (one chain) compared with pred: (every coordinate within
    the round-off tolerance, margin, values: hp, the step, the predicted step, max |error|, pred.values)."""
    got = impl.step_many(problem, x.unsqueeze(0), hp, seed)[0]
    holds, m, err = compare(got, pred)
    values = {**hp, "step": got.tolist(), "predicted_step": pred.value.tolist(), "max_abs_error": err, **pred.values}
    return holds, m, values


def margins(tol: torch.Tensor, err: torch.Tensor) -> torch.Tensor:
    """min (tol − err)/tol over the last dimension; an exact match under a zero tolerance is +∞."""
    safe = torch.where(tol > 0, tol, 1.0)
    m = torch.where(tol > 0, (tol - err) / safe, torch.where(err > 0, -torch.inf, torch.inf))
    return m.min(-1).values


def margin(tol: torch.Tensor, err: torch.Tensor) -> float:
    return float(margins(tol, err).min())


def perturbed_gradient_moments(
    problem: Problem, x: list, sigma: sp.Rational, two_point: bool
) -> tuple[torch.Tensor, float]:
    """For U ~ N(0, σ²I) exactly (Gaussian moments, no sampling): the mean E h(U) and the total
    variance E‖h(U) − E h‖² of h(U) = ½(∇f(x+U) + ∇f(x−U)) (NSO line 4) or ∇f(x+U) (WP-SGD)."""
    zs = sp.symbols(f"z1:{problem.d + 1}", real=True)
    shift = {s: sp.Rational(v) + sigma * z for s, v, z in zip(problem.symbols, x, zs)}
    back = {s: sp.Rational(v) - sigma * z for s, v, z in zip(problem.symbols, x, zs)}
    hs = []
    for g in grad_exprs(problem):
        plus = g.subs(shift, simultaneous=True)
        hs.append(sp.expand((plus + g.subs(back, simultaneous=True)) / 2 if two_point else plus))
    means = [expectation(h, zs, "gaussian") for h in hs]
    second = sum(expectation(sp.expand(h * h), zs, "gaussian") for h in hs)
    variance = second - sum(m * m for m in means)
    return torch.tensor([float(m) for m in means], dtype=torch.float64), float(variance)


def smoothed_gradient(problem: Problem, sigma: sp.Rational) -> Callable[[torch.Tensor], torch.Tensor]:
    """∇F(W) = E∇f(W + U), U ~ N(0, σ²I), as an exact polynomial in W compiled to torch (batched)."""

    def make() -> list:
        zs = sp.symbols(f"z1:{problem.d + 1}", real=True)
        shift = {s: s + sigma * z for s, z in zip(problem.symbols, zs)}
        return [
            to_torch(problem.symbols, expectation(g.subs(shift, simultaneous=True), zs, "gaussian"))
            for g in grad_exprs(problem)
        ]

    parts = _cached(problem, ("smoothed", sigma), make)
    return lambda w: torch.stack([p(w) for p in parts], dim=-1)


def gd_prediction(problem: Problem, x: list, lr: float, spread: float = 0.0) -> Prediction:
    """x − η∇f(x). `spread` widens the round-off bound for implementations that evaluate ∇f at
    points up to `spread` away from x in every coordinate (e.g. NSO's W ± U on a quadratic)."""
    with mpmath.workdps(DPS):
        xm = mp_point(x)
        value = [a - lr * c for a, c in zip(xm, grad_mp(problem)(xm))]
    xt = to_tensor(xm)
    far = xt.abs() + spread
    scale = 2 * grad_scale(problem, far) + grad_lipschitz(problem, far) * float(far.max())
    return Prediction(to_tensor(value), _tolerance(xt, lr, scale))


def perturbed_step_tests(
    problem: Problem,
    x: list,
    path: torch.Tensor,
    lr: float,
    sigma: sp.Rational,
    k: int,
    two_point: bool,
    alpha: float,
) -> list[tuple[str, bool, float, dict[str, Any]]]:
    """Tests of two steps W₀ → W₁ → W₂ of NSO (two_point, k pairs) or WP-SGD (k = 1) on many
    independent chains, path (n, 3, d), against exact Gaussian moments (U ~ N(0, σ²I)).
    With h_t = (W_{t−1} − W_t)/η the implied gradient estimate and δ_t = h_t − ∇F(W_{t−1}):
    mean:     E h₁ = ∇F(W₀)                               (unbiased for the smoothed loss F)
    variance: E‖δ₁‖² = (1/k)·E‖h(U) − ∇F(W₀)‖²            (k independent draws averaged)
    fresh:    E⟨δ₁, δ₂⟩ = 0                                 (new U every step: δ₂ is a martingale difference)
    Each is a simultaneous normal interval at level alpha/3 (plus a float64 round-off allowance).
    Returns (name, holds, margin, values) per test."""
    mean, total_var = perturbed_gradient_moments(problem, x, sigma, two_point)
    xt = to_tensor(mp_point(x)).to(path.device)
    mean = mean.to(path.device)
    h1 = (path[:, 0] - path[:, 1]) / lr
    d1 = h1 - mean
    x1 = path[:, 1]
    d2 = (x1 - path[:, 2]) / lr - smoothed_gradient(problem, sigma)(x1)
    # h is read back from W − W⁺: its round-off is ~ε·|W|/η.
    round_h = (
        ROUNDOFF
        * EPS
        * (float(xt.abs().max()) / lr + float(grad_scale(problem, xt.abs().cpu() + 12 * float(sigma)).max()))
    )
    tests = []
    for name, samples, target, scale in (
        ("mean", h1, mean, round_h),
        ("variance", (d1 * d1).sum(-1, keepdim=True), torch.tensor([total_var / k], device=path.device), 0.0),
        ("fresh_noise", (d1 * d2).sum(-1, keepdim=True), torch.zeros(1, device=path.device), 0.0),
    ):
        est, half = mean_interval(samples, alpha / 3)
        tol = half + scale + ROUNDOFF * EPS * target.abs()
        m = margin(tol, (est - target).abs())
        values = {"estimate": est.tolist(), "exact": target.tolist(), "interval_halfwidth": half.tolist()}
        tests.append((name, m >= 0, m, values))
    return tests


def perturbed_steps(
    impl,
    problem: Problem,
    x: list,
    x0: torch.Tensor,
    hp: dict[str, Any],
    n: int,
    seed: int,
    two_point: bool,
    alpha: float,
) -> tuple[list[str], float, dict[str, Any]]:
    """Two steps of the implementation on n chains from x0 (x as a tensor) under `perturbed_step_tests`,
    with k = hp["k"] (1 when absent, WP-SGD): (names of the failed tests, the smallest margin, values:
    hp, draws and each test's numbers)."""
    path = impl.run_many(problem, x0.expand(n, -1).clone(), hp, seed, steps=2)
    sigma = sp.Rational(hp["sigma"])
    tests = perturbed_step_tests(problem, x, path, hp["lr"], sigma, hp.get("k", 1), two_point, alpha)
    values = {**hp, "draws": n, **{name: v for name, _, _, v in tests}}
    return [name for name, ok, _, _ in tests if not ok], min(m for _, _, m, _ in tests), values
