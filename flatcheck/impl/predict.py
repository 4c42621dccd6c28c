"""Exact predictions of one step of the papers' algorithms, for the step-identity claims.

A prediction is evaluated from the sympy expressions of f and f_i with mpmath at `DPS` digits
(the points are rational, so it is exact to far below float64). An implementation computes the
same step in float64, so the two may differ by round-off only: the tolerance is `ROUNDOFF`·ε times
a first-order bound of how rounding errors of the gradient evaluations propagate through the step.
The bound uses the *absolute* polynomial |f|: Σ|c_α||z^α| of each gradient component bounds the
magnitude of what is summed when it is evaluated at z (the round-off scale), and the same for
the Hessian entries on a ball bounds the Lipschitz constant that carries a perturbed evaluation
point's error into the gradient.

Beyond round-off, a step claim accepts what correct code does (`ErrorModel`: a normaliser reduced
in float32 or guarded by ε), by fitting the paper's step as a one-parameter family in the
normaliser's shift (`NormaliserFit`), and judges several consecutive steps of one optimizer, each
from the point it reached (`judge_path`). Random steps are tested against exact moments of their
noise (`step_moment_tests`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import mpmath
import sympy as sp
import torch

from flatcheck import cache
from flatcheck.errors import NonFiniteError
from flatcheck.impl.protocol import ITERATION
from flatcheck.problems import Problem
from flatcheck.problems.compile import to_mpmath, to_torch
from flatcheck.stats import mean_interval
from flatcheck.stats.sequential import Stopped, look_seed, sequential
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


def _tolerance(x: torch.Tensor, lr: float, scale: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    return ROUNDOFF * eps * (x.abs() + lr * scale)


@dataclass(frozen=True)
class ErrorModel:
    """What correct code does differently from the paper's exact arithmetic, and what a step claim
    therefore accepts (README, "How a step is judged").

    - Round-off at the parameters' precision (`dtype`): `ROUNDOFF`·ε of that dtype times the
      propagated magnitudes, as for any identity.
    - The normaliser N = ‖g‖ of an ascent direction g/N may be computed as N(1 + δ) + e_guard:
      a reduction (norm, dot product) done in float32 while the parameters are float64 (as
      pytorch-optimizer's SAM does) gives |δ| ≤ `reduction(d)`; a guard against division by zero
      (N + ε, max(N, ε)) gives 0 ≤ e_guard ≤ `guard(N)`.
    Nothing else: the direction, the radius ρ, the sign, the point where gradients are taken and
    which draws are used are the algorithm's, and any change of them is a defect.
    """

    dtype: torch.dtype = torch.float64

    @property
    def eps(self) -> float:
        return torch.finfo(self.dtype).eps

    def reduction(self, d: int) -> float:
        """Relative error of a norm of d entries reduced in float32 (or at the parameters' precision,
        when coarser): cast, square, d − 1 additions, square root, the division ρ/N and a guard's
        addition are d + 4 roundings of unit u; 2(d + 4)u bounds their first-order sum γ with room
        for any summation order."""
        u = max(torch.finfo(torch.float32).eps, self.eps) / 2
        return 2 * (d + 4) * u

    @staticmethod
    def guard(norm: float) -> float:
        """The largest guard admitted: ε ≤ 1e-8·max(1, N). The guards in use are 1e-12 (davda54/sam,
        pytorch-optimizer) to 1e-8 (Adam's ε); the relative form covers guards written as ε·N."""
        return GUARD * max(1.0, norm)


GUARD = 1e-8
# A guard is admitted as a perturbation of the normaliser only while it moves N by at most this
# relative amount: below ‖g‖ = ε/GUARD_CAP a step that needs a larger guard is not decided (it is
# consistent with a large guard and with a changed radius alike), never passed.
GUARD_CAP = 1e-6
F64 = ErrorModel()

# (shift e of the normaliser N → N + e) -> (the step in mpmath, its round-off tolerance)
Family = Callable[[Any], tuple[list, torch.Tensor]]


@dataclass
class StepFit:
    """Per row of the steps judged against one `NormaliserFit`: whether an admitted normaliser
    explains it, the margin (tol − err)/tol there, the shift e that does, and max |error|."""

    ok: torch.Tensor
    margin: torch.Tensor
    shift: torch.Tensor
    error: torch.Tensor


class NormaliserFit:
    """The paper's step as a one-parameter family in the normaliser's shift e (N → N + e), with the
    interval the `ErrorModel` admits. Linear in e over that interval up to a bounded remainder:
    value(e) ≈ value(0) + e·D, D by a central difference in mpmath at 40 digits, and the remainder
    at the interval's ends (computed exactly) added to the tolerance. A row of steps is judged at
    the admitted e closest (weighted least squares) to what explains it."""

    def __init__(self, family: Family, norm: float, d: int, model: ErrorModel = F64):
        self.family, self.norm, self.model = family, norm, model
        red = model.reduction(d) * norm
        self.lo, self.hi = -red, red + min(model.guard(norm), GUARD_CAP * norm)
        self.hi_guard = red + model.guard(norm)
        self.v0_mp, self.tol0 = family(0)
        self.v0 = to_tensor(self.v0_mp)
        self._slope: torch.Tensor | None = None

    def slope(self, at=0) -> torch.Tensor:
        """d value/de at e = `at`, a central difference in mpmath (error ~h², far below float64)."""
        if at == 0 and self._slope is not None:
            return self._slope
        h = mpmath.mpf(self.norm) * mpmath.mpf(10) ** -15
        with mpmath.workdps(DPS):
            vp, vm = self.family(at + h)[0], self.family(at - h)[0]
            out = to_tensor([(a - b) / (2 * h) for a, b in zip(vp, vm)])
        if at == 0:
            self._slope = out
        return out

    def fit(self, actual: torch.Tensor) -> StepFit:
        actual = actual.cpu().to(torch.float64).reshape(-1, self.v0.shape[-1])
        r = actual - self.v0
        exact = (r.abs() <= self.tol0).all(-1)
        if bool(exact.all()):
            return StepFit(exact, margins(self.tol0.expand_as(r), r.abs()), torch.zeros(len(r)), r.abs().max(-1).values)
        slope = self.slope()
        # Least squares in units of the tolerance; a coordinate of zero tolerance is exact or fails.
        w = torch.where(self.tol0 > 0, 1 / self.tol0.clamp_min(1e-150) ** 2, 0.0)
        den = float((w * slope * slope).sum())
        shift = (r * w * slope).sum(-1) / den if den > 0 else torch.zeros(r.shape[0], dtype=torch.float64)
        shift = torch.where(exact, 0.0, shift.clamp(self.lo, self.hi))
        err = (r - shift[:, None] * slope).abs()
        # The family's remainder beyond its linear part, at the admitted interval's ends (exact).
        with mpmath.workdps(DPS):
            curvature = (
                torch.stack(
                    [
                        (
                            to_tensor([a - b for a, b in zip(self.family(mpmath.mpf(e))[0], self.v0_mp)]) - e * slope
                        ).abs()
                        for e in (self.lo, self.hi)
                    ]
                )
                .max(0)
                .values
            )
        tol = self.tol0 + torch.where(shift[:, None] != 0, curvature, 0.0)
        m = margins(tol.expand_as(err), err)
        return StepFit(m >= 0, m, shift, err.max(-1).values)

    def solve(self, actual: torch.Tensor, iterations: int = 12) -> float | None:
        """The shift e (any size, N + e > 0) with which the family equals the step within round-off,
        by Gauss–Newton from e = 0; None when there is none."""
        a = actual.cpu().to(torch.float64)
        e = 0.0
        for _ in range(iterations):
            v, tol = self.family(mpmath.mpf(e))
            r = a - to_tensor(v)
            if bool((r.abs() <= tol).all()):
                return e
            slope = self.slope(mpmath.mpf(e))
            den = float((slope * slope).sum())
            if den == 0:
                return None
            e += float((r * slope).sum()) / den
            if e <= -self.norm:
                return None
        return None

    def explain(self, actual: torch.Tensor) -> tuple[str, float | None]:
        """For a step no admitted normaliser explains: ("guard", ε) when a guard within
        `ErrorModel.guard` but beyond GUARD_CAP explains it (the instance is then undecided),
        ("radius", N/(N + e)) when another ascent radius does (ρ/2, ρ‖g‖ …), else ("none", None)."""
        e = self.solve(actual)
        if e is None:
            return "none", None
        if self.hi < e <= self.hi_guard:
            return "guard", e
        return "radius", self.norm / (self.norm + e)

    def agreement(self, shift: float) -> str:
        """The verdict's words for a matching step: exact, float32-level or guarded."""
        name = str(self.model.dtype).removeprefix("torch.")
        rel, red = shift / self.norm, -self.lo / self.norm
        if abs(rel) <= self.model.eps * red / max(torch.finfo(torch.float32).eps, self.model.eps):
            return f"agrees with the paper's step to {name} round-off"
        if abs(shift) <= -self.lo:
            return (
                f"float32-level agreement: consistent with the normaliser ‖g‖ reduced in float32 "
                f"(relative {rel:+.1e}; admitted ±{red:.1e})"
            )
        return (
            f"consistent with an ε guard of {shift:.1e} in the normaliser ‖g‖ + ε (‖g‖ = {self.norm:.3g}; "
            f"admitted ε ≤ {GUARD:.0e}·max(1, ‖g‖), moving ‖g‖ by at most {GUARD_CAP:.0e})"
        )


def _ascent(problem: Problem, xm: list, index: int | None):
    """∇ at x, ‖∇‖ (None where ∇ = 0) and the relative round-off scale κ of the normalised gradient."""
    with mpmath.workdps(DPS):
        g = grad_mp(problem, index)(xm)
        n = mp_norm(g)
    if n == 0:
        return None
    kappa = float(torch.linalg.vector_norm(grad_scale(problem, to_tensor(xm), index))) / float(n)
    return g, n, kappa


def _ascended(xm: list, g: list, n, rho: float, sign: int, e) -> list:
    """x + σρ∇/(‖∇‖ + e) in mpmath."""
    with mpmath.workdps(DPS):
        return [a + sign * rho * c / (n + e) for a, c in zip(xm, g)]


def _y_error(rho: float, kappa: float, xt: torch.Tensor) -> float:
    """Round-off scale of the ascent point: ρ·(relative error of ĝ) + rounding of x + ρĝ."""
    return rho * (1 + kappa) + float(xt.abs().max()) + rho


def sam_family(
    problem: Problem, x: list, lr: float, rho: float, index: int | None = None, model: ErrorModel = F64
) -> NormaliserFit | None:
    """x − η∇L(x + ρ∇L(x)/(‖∇L(x)‖ + e)) (wen2023 (3); with index=k the per-example step (7)) as a
    `NormaliserFit`. None where ∇L(x) (or ∇L_k(x)) vanishes: the step is undefined there."""
    xm = mp_point(x)
    at = _ascent(problem, xm, index)
    if at is None:
        return None
    g, n, kappa = at
    xt = to_tensor(xm)
    y_err = _y_error(rho, kappa, xt)

    def family(e) -> tuple[list, torch.Tensor]:
        y = _ascended(xm, g, n, rho, 1, e)
        with mpmath.workdps(DPS):
            value = [a - lr * c for a, c in zip(xm, grad_mp(problem, index)(y))]
        yt = to_tensor(y)
        scale = grad_scale(problem, yt, index) + grad_lipschitz(problem, yt, index) * y_err
        return value, _tolerance(xt, lr, scale, model.eps)

    return NormaliserFit(family, float(n), problem.d, model)


def sap_family(
    problem: Problem,
    x: list,
    index: int,
    sign: int,
    *,
    lr: float,
    lr_prime: float,
    rho: float,
    eps0: float,
    model: ErrorModel = F64,
) -> NormaliserFit | None:
    """ahn2024 (7) for example `index` and sign σ: x − η(∇f + Proj⊥_{∇f}∇f_i(x + ρσ∇f_i/(‖∇f_i‖ + e)))
    when ‖∇f(x)‖ ≤ ε₀, else x − η′∇f(x) (constant in e). None where ∇f_i(x) = 0 (Remark 2's random
    fallback) or ∇f(x) = 0. The projection's two reductions ⟨∇f, w⟩ and ‖∇f‖² may be float32 too:
    their relative errors move the step by η|c|·|∇f| each (c = ⟨∇f, w⟩/‖∇f‖²), added to the tolerance."""
    xm = mp_point(x)
    xt = to_tensor(xm)
    with mpmath.workdps(DPS):
        gx = grad_mp(problem)(xm)
        gn = mp_norm(gx)
    at = _ascent(problem, xm, index)
    if gn == 0 or at is None:
        return None
    full_scale = grad_scale(problem, xt)
    gi, ni, kappa_i = at
    if float(gn) > eps0:
        return plain_step_fit(problem, x, lr_prime, float(ni), model)
    y_err = _y_error(rho, kappa_i, xt)
    kappa = float(torch.linalg.vector_norm(full_scale)) / float(gn)
    gxt = to_tensor(gx).abs()

    def family(e) -> tuple[list, torch.Tensor]:
        y = _ascended(xm, gi, ni, rho, sign, e)
        with mpmath.workdps(DPS):
            w = grad_mp(problem, index)(y)
            coef = mpmath.fsum(a * b for a, b in zip(gx, w)) / (gn * gn)
            value = [a - lr * (g + c - coef * g) for a, g, c in zip(xm, gx, w)]
        yt = to_tensor(y)
        w_scale = grad_scale(problem, yt, index) + grad_lipschitz(problem, yt, index) * y_err
        # The projection multiplies w's error by at most 2 and adds ‖w‖ times the relative error of ∇f.
        scale = full_scale + 2 * w_scale + float(mp_norm(w)) * (1 + kappa)
        reductions = lr * abs(float(coef)) * gxt * 2 * model.reduction(problem.d)
        return value, _tolerance(xt, lr, scale, model.eps) + reductions

    return NormaliserFit(family, float(ni), problem.d, model)


def plain_step_fit(problem: Problem, x: list, lr: float, norm: float, model: ErrorModel = F64) -> NormaliserFit:
    """x − η∇f(x) as a family constant in the normaliser's shift (ahn2024 Algorithms 1 and 2 take
    this step, with η′, where ‖∇f(x)‖ > ε₀), judged to round-off; `norm` only scales the evidence."""
    xm = mp_point(x)
    with mpmath.workdps(DPS):
        fixed = [a - lr * c for a, c in zip(xm, grad_mp(problem)(xm))]
    tol = _tolerance(to_tensor(xm), lr, grad_scale(problem, to_tensor(xm)), model.eps)
    return NormaliserFit(lambda e: (fixed, tol), norm, problem.d, model)


def ascent_family(problem: Problem, x: list, lr: float, rho: float, model: ErrorModel = F64) -> NormaliserFit | None:
    """x − η∇L^asc_ρ(x) (wen2023 (2)) with the normaliser shifted by a constant e, the gradient of
    L(x + ρ∇L(x)/(‖∇L(x)‖ + e)) by sympy's own chain rule: (I + ρ·∂(∇L/(‖∇L‖ + e))/∂x)ᵀ ∇L(y), the
    Jacobian differentiated symbolically with e a symbol (a guard is a constant; a float32 reduction's
    error is not differentiated either)."""
    xm = mp_point(x)
    at = _ascent(problem, xm, None)
    if at is None:
        return None
    g, n, kappa = at
    shift = sp.Symbol("shift_e")

    def jacobian() -> tuple[sp.Expr, ...]:
        gv = sp.Matrix(grad_exprs(problem))
        unit = gv / (sp.sqrt((gv.T * gv)[0]) + shift)
        return tuple(unit.jacobian(sp.Matrix(problem.symbols)))

    # The symbolic Jacobian is most of a step claim's symbolic work: its compiled code is kept on
    # disk (`flatcheck.cache`) under f's key, and a second run does not differentiate at all.
    what = [cache.expr_key(problem.symbols), cache.expr_key(problem.expr), cache.code_key(__file__)]
    key = "\n".join(["jacobian of the unit gradient ∇f/(‖∇f‖ + shift_e) of", *what])

    def make() -> Callable:
        return to_mpmath((*problem.symbols, shift), jacobian, key)

    jac_mp = _cached(problem, "unit_grad_jacobian_e", make)
    xt = to_tensor(xm)
    y_err = _y_error(rho, kappa, xt)
    beta_x = float(grad_lipschitz(problem, xt).max())
    d = problem.d

    def family(e) -> tuple[list, torch.Tensor]:
        y = _ascended(xm, g, n, rho, 1, e)
        with mpmath.workdps(DPS):
            flat = jac_mp([*xm, e])
            j = [[flat[a * d + b] for b in range(d)] for a in range(d)]
            w = grad_mp(problem)(y)
            jtw = [mpmath.fsum(j[a][b] * w[a] for a in range(d)) for b in range(d)]
            value = [c - lr * (wb + rho * t) for c, wb, t in zip(xm, w, jtw)]
        yt = to_tensor(y)
        w_scale = grad_scale(problem, yt) + grad_lipschitz(problem, yt) * y_err
        # ρH(I − ĝĝᵀ)w/‖g‖: w's error, the Hessian's round-off and the normalisation's, each through ρβ/‖g‖.
        scale = w_scale + rho * beta_x / float(n) * (3 * w_scale + float(mp_norm(w)) * (2 + kappa))
        return value, _tolerance(xt, lr, scale, model.eps)

    return NormaliserFit(family, float(n), d, model)


def margins(tol: torch.Tensor, err: torch.Tensor) -> torch.Tensor:
    """min (tol − err)/tol over the last dimension; an exact match under a zero tolerance is +∞."""
    safe = torch.where(tol > 0, tol, 1.0)
    m = torch.where(tol > 0, (tol - err) / safe, torch.where(err > 0, -torch.inf, torch.inf))
    return m.min(-1).values


def margin(tol: torch.Tensor, err: torch.Tensor) -> float:
    return float(margins(tol, err).min())


def perturbed_gradient_moments(
    problem: Problem, x: list, sigma: sp.Rational, two_point: bool, law: str = "gaussian"
) -> tuple[torch.Tensor, float, float, float]:
    """For U = σZ, Z with i.i.d. unit-variance coordinates of the law P (gaussian, uniform, laplace,
    rademacher: the NSO paper's Table 1), exactly (moment formulas, no sampling), of h(U) =
    ½(∇f(x+U) + ∇f(x−U)) (NSO line 4) or ∇f(x+U) (WP-SGD) and D = h(U) − E h: the mean E h, the
    total variance E‖D‖² = tr Σ, the fourth moment E‖D‖⁴ and tr Σ² (Σ = E DDᵀ) — the last two give
    the exact spread of the variance test's ‖δ‖² (`step_variance_second_moment`).
    Cached per problem: a sequential check tests them at every look."""
    key = ("moments", tuple(str(v) for v in x), sigma, two_point, law)
    return _cached(problem, key, lambda: _perturbed_gradient_moments(problem, x, sigma, two_point, law))


def _perturbed_gradient_moments(
    problem: Problem, x: list, sigma: sp.Rational, two_point: bool, law: str
) -> tuple[torch.Tensor, float, float, float]:
    zs = sp.symbols(f"z1:{problem.d + 1}", real=True)
    shift = {s: sp.Rational(v) + sigma * z for s, v, z in zip(problem.symbols, x, zs)}
    back = {s: sp.Rational(v) - sigma * z for s, v, z in zip(problem.symbols, x, zs)}
    hs = []
    for g in grad_exprs(problem):
        plus = g.subs(shift, simultaneous=True)
        hs.append(sp.expand((plus + g.subs(back, simultaneous=True)) / 2 if two_point else plus))
    means = [expectation(h, zs, law) for h in hs]
    # Products as polynomials in z (sympy's Poly multiplies tables of exponents; expand would not).
    ds = [sp.Poly(h - m, *zs) for h, m in zip(hs, means)]
    cov = [[expectation((a * b).as_expr(), zs, law) for b in ds] for a in ds]
    variance = sum(cov[i][i] for i in range(len(ds)))
    square = sum((a * a for a in ds), sp.Poly(0, *zs))
    fourth = expectation((square * square).as_expr(), zs, law)
    tr_cov2 = sum(c * c for row in cov for c in row)
    return torch.tensor([float(m) for m in means], dtype=torch.float64), float(variance), float(fourth), float(tr_cov2)


def step_variance_second_moment(fourth: float, variance: float, tr_cov2: float, k: int) -> float:
    """E X² of the variance test's X = ‖δ‖², δ = (1/k)Σ_j D_j the mean of k i.i.d. copies of a
    zero-mean D with E‖D‖² = tr Σ = `variance`, E‖D‖⁴ = `fourth`, tr Σ² = `tr_cov2`: expanding
    ‖Σ_j D_j‖⁴ = (Σ_{j,l}⟨D_j, D_l⟩)², only the terms j = l = j' = l' (k of them) and the three pairings
    of two distinct indices (k(k − 1) each: (tr Σ)², tr Σ², tr Σ²) have non-zero mean."""
    return (k * fourth + k * (k - 1) * (variance**2 + 2 * tr_cov2)) / k**4


def smoothed_gradient(
    problem: Problem, sigma: sp.Rational, law: str = "gaussian"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """∇F(W) = E∇f(W + U), U = σZ (Z of the law P, or uniform on the sphere for law "sphere"), as an
    exact polynomial in W compiled to torch (batched)."""

    def make() -> list:
        zs = sp.symbols(f"z1:{problem.d + 1}", real=True)
        shift = {s: s + sigma * z for s, z in zip(problem.symbols, zs)}
        return [
            to_torch(problem.symbols, expectation(g.subs(shift, simultaneous=True), zs, law))
            for g in grad_exprs(problem)
        ]

    parts = _cached(problem, ("smoothed", sigma, law), make)
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


def noise_reach(law: str, sigma: Any) -> float:
    """A bound every coordinate of U = σZ stays within but with probability < 1e-24 per coordinate:
    12σ for Gaussian (and the bounded uniform, Rademacher), 40σ for Laplace's exponential tail."""
    return (40 if law == "laplace" else 12) * float(sigma)


def perturbed_step_tests(
    problem: Problem,
    x: list,
    path: torch.Tensor,
    lr: float,
    sigma: sp.Rational,
    k: int,
    two_point: bool,
    alpha: float,
    law: str = "gaussian",
    scale: float = 1.0,
) -> list[tuple[str, bool, float, dict[str, Any]]]:
    """Tests of two steps W₀ → W₁ → W₂ of NSO (two_point, k pairs) or WP-SGD (k = 1) on many
    independent chains, path (n, 3, d), against exact moments of U = σZ, Z of the law P (`law`).
    With h_t = (W_{t−1} − W_t)/η the implied gradient estimate and δ_t = h_t − ∇F(W_{t−1}):
    mean:     E h₁ = ∇F(W₀)                               (unbiased for the smoothed loss F)
    variance: E‖δ₁‖² = (1/k)·E‖h(U) − ∇F(W₀)‖²            (k independent draws averaged)
    fresh:    E⟨δ₁, δ₂⟩ = 0                                 (new U every step: δ₂ is a martingale difference)
    Each is a simultaneous normal interval at level alpha/3 (plus a float64 round-off allowance).
    `scale` multiplies the step the algorithm's statement prescribes (h → scale·h: a claim's
    declared step constant moved). Returns (name, holds, margin, values) per test."""
    mean, total_var, fourth, tr_cov2 = perturbed_gradient_moments(problem, x, sigma, two_point, law)
    smoothed = smoothed_gradient(problem, sigma, law)
    xt = to_tensor(mp_point(x))
    # h is read back from W − W⁺: its round-off is ~ε·|W|/η.
    round_h = (
        ROUNDOFF
        * EPS
        * (float(xt.abs().max()) / lr + float(grad_scale(problem, xt.abs() + noise_reach(law, sigma)).max()))
    )
    return step_moment_tests(
        path,
        lr,
        scale * mean,
        scale**2 * total_var / k,
        lambda w: scale * smoothed(w),
        alpha,
        round_h,
        variance_second_moment=scale**4 * step_variance_second_moment(fourth, total_var, tr_cov2, k),
    )


def step_moment_tests(
    path: torch.Tensor,
    lr: float,
    mean: torch.Tensor,
    variance: float,
    conditional_mean: Callable[[torch.Tensor], torch.Tensor],
    alpha: float,
    round_h: float,
    variance_second_moment: float | None = None,
) -> list[tuple[str, bool, float, dict[str, Any]]]:
    """The three tests of a random step's two consecutive steps W₀ → W₁ → W₂ on many chains, path
    (n, 3, d), with h_t = (W_{t−1} − W_t)/η and δ_t = h_t − E[h_t | W_{t−1}] (`conditional_mean`):
    mean E h₁ = `mean`, variance E‖δ₁‖² = `variance`, fresh E⟨δ₁, δ₂⟩ = 0 (new draws every step:
    δ₂ is a martingale difference). Normal intervals at level alpha/3 each, plus `round_h` (the
    read-back's round-off) on the mean. Returns (name, holds, margin, values) per test.

    With `variance_second_moment` (E X² of X = ‖δ₁‖², known exactly) the variance test's lower side
    is the bound for a mean of non-negative variables, P(X̄ ≤ E X − t) ≤ exp(−n t²/(2 E X²)) (from
    e^{−y} ≤ 1 − y + y²/2, y ≥ 0), at its share alpha/6: ‖δ‖² of a polynomial step is so right-skewed
    that the normal interval's lower side, from 512 draws that mostly miss the tail, called a correct
    WP-SGD's variance too small (estimate 32.9 against 44.9 ± 10.8 at Example 1, x = (3/2, −1), σ = ½)."""
    mean = mean.to(path.device)
    h1 = (path[:, 0] - path[:, 1]) / lr
    d1 = h1 - mean
    x1 = path[:, 1]
    d2 = (x1 - path[:, 2]) / lr - conditional_mean(x1)
    # A product of two read-back deviations carries round-off ≲ round_h·(|δ| + |δ'|) + round_h².
    round_sq = round_h * (2 * (3 * math.sqrt(max(variance, 0.0)) + round_h))
    tests = []
    # The targets in float64 whatever the chains' dtype (torch's default float32 printed 0.6 as 0.6000000238).
    exact = {"dtype": torch.float64, "device": path.device}
    for name, samples, target, scale in (
        ("mean", h1, mean, round_h),
        ("variance", (d1 * d1).sum(-1, keepdim=True), torch.tensor([variance], **exact), round_sq),
        ("fresh_noise", (d1 * d2).sum(-1, keepdim=True), torch.zeros(1, **exact), round_sq),
    ):
        est, half = mean_interval(samples, alpha / 3)
        values = {"estimate": est.tolist(), "exact": target.tolist(), "interval_halfwidth": half.tolist()}
        if name == "variance" and variance_second_moment is not None and bool((est < target).all()):
            half = torch.full_like(half, math.sqrt(2 * variance_second_moment * math.log(6 / alpha) / len(samples)))
            values["lower_halfwidth"] = half.tolist()
        tol = half + scale + ROUNDOFF * EPS * target.abs()
        m = margin(tol, (est - target).abs())
        tests.append((name, m >= 0, m, values))
    return tests


def rsp_moments(
    problem: Problem, x: list, rho: sp.Rational
) -> tuple[torch.Tensor, float, Callable[[torch.Tensor], torch.Tensor], float]:
    """For ahn2024 (2) with g ~ Unif(S^{d−1}), exactly (sphere moments, no sampling): the mean
    E h = ∇f(x) + Proj⊥ S(x) of h = ∇f(x) + Proj⊥_{∇f(x)}∇f(x + ρg), S(x) = E∇f(x + ρg); the
    variance E‖h − E h‖² = E‖Proj⊥∇f(x + ρg)‖² − ‖Proj⊥ S(x)‖²; E[h | x] as a batched function;
    and E‖∇f(x + ρg)‖², the scale of the round-off of the projection's reductions."""
    zs = sp.symbols(f"z1:{problem.d + 1}", real=True)
    at = dict(zip(problem.symbols, [sp.Rational(v) for v in x]))
    gx = [g.subs(at) for g in grad_exprs(problem)]
    n2 = sum(c * c for c in gx)
    shift = {s: at[s] + rho * z for s, z in zip(problem.symbols, zs)}
    w = [sp.expand(g.subs(shift, simultaneous=True)) for g in grad_exprs(problem)]
    smooth = [expectation(c, zs, "sphere") for c in w]

    def proj(u: list) -> list:
        c = sum(a * b for a, b in zip(gx, u)) / n2
        return [a - c * b for a, b in zip(u, gx)]

    pw = sp.expand(sum(c * c for c in w) - sum(a * b for a, b in zip(gx, w)) ** 2 / n2)
    ps = proj(smooth)
    mean = [a + b for a, b in zip(gx, ps)]
    variance = expectation(pw, zs, "sphere") - sum(c * c for c in ps)
    perturbed_sq = expectation(sp.expand(sum(c * c for c in w)), zs, "sphere")
    s_of = smoothed_gradient(problem, rho, "sphere")

    def conditional(xs: torch.Tensor) -> torch.Tensor:
        g = problem.grad(xs)
        sm = s_of(xs)
        c = (g * sm).sum(-1, keepdim=True) / (g * g).sum(-1, keepdim=True)
        return g + sm - c * g

    return (
        torch.tensor([float(m) for m in mean], dtype=torch.float64),
        float(variance),
        conditional,
        float(perturbed_sq),
    )


def two_step_tests(
    impl,
    problem: Problem,
    x0: torch.Tensor,
    hp: dict[str, Any],
    n: int,
    seed: int,
    alpha: float,
    tests_of: Callable[[torch.Tensor, float], list[tuple[str, bool, float, dict[str, Any]]]],
) -> Stopped:
    """Two steps of the implementation on up to n chains from x0, judged by `tests_of(path, level)`
    (`step_moment_tests`' list), in one look of all n chains. Not in geometric looks: the tests are
    equalities, so a correct class would run all n anyway and only a broken one could stop early,
    while an early look's normal interval at ~128 draws of squared (right-skewed) data errs toward
    "variance too small" far more often than its nominal share of alpha at the catalog's α ≈ 1e-7
    (the t-statistic of skewed data is skewed: about 300× at n = 128, by Cornish–Fisher): a false
    alarm on a correct class is the error this verifier must not make. The run's `result` is the
    list of tests."""

    def draw(m: int, look: int) -> torch.Tensor:
        return impl.run_many(problem, x0.expand(m, -1).clone(), hp, look_seed(seed, look), steps=2)

    def judge(path: torch.Tensor, a: float) -> tuple[list, bool]:
        tests = tests_of(path, a)
        return tests, not all(ok for _, ok, _, _ in tests)

    return sequential(draw, n, alpha, judge, n)


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
    scale: float = 1.0,
) -> tuple[list[str], float, dict[str, Any]]:
    """Two steps of the implementation on n chains from x0 (x as a tensor) under `perturbed_step_tests`,
    with k = hp["k"] (1 when absent, WP-SGD) and P = hp["noise"] (Gaussian when absent): (names of
    the failed tests, the smallest margin, values: hp, draws and each test's numbers); `scale` as
    in `perturbed_step_tests`; the chains are run by `two_step_tests`."""
    sigma = sp.Rational(hp["sigma"])
    law = hp.get("noise", "gaussian")
    run = two_step_tests(
        impl,
        problem,
        x0,
        hp,
        n,
        seed,
        alpha,
        lambda path, a: perturbed_step_tests(
            problem, x, path, hp["lr"], sigma, hp.get("k", 1), two_point, a, law, scale
        ),
    )
    tests = run.result
    values = {**hp, "draws": run.draws, **run.record(), **{name: v for name, _, _, v in tests}}
    return [name for name, ok, _, _ in tests if not ok], min(m for _, _, m, _ in tests), values


@dataclass
class PathJudgement:
    """Every step of several consecutive steps of one optimizer, each judged from the point it
    actually reached: holds (False at the first step no admitted normaliser explains; None when
    only a guard beyond GUARD_CAP does), the smallest margin, a note, and what was measured."""

    holds: bool | None
    margin: float
    note: str
    values: dict[str, Any]


def error_model(budget: Any) -> ErrorModel:
    """The error model of a run: the parameters' precision is the budget's dtype (`--dtype`)."""
    return ErrorModel(getattr(torch, getattr(budget, "dtype", "float64")))


def memo(candidates: Callable[[list], Any]) -> Callable[[list], Any]:
    """The candidates of a point computed once per point (chains share their starting point)."""
    store: dict[tuple, Any] = {}

    def cached(point: list) -> Any:
        key = tuple(float(v) for v in point)
        if key not in store:
            store[key] = candidates(point)
        return store[key]

    return cached


def reach(x0: list) -> float:
    """The region steps are judged in: |x|∞ ≤ 1e3·max(1, |x₀|∞). Beyond it a diverging trajectory
    tests arithmetic at extreme magnitudes (a correct step may overflow to inf; a float32-reduced
    norm overflows once ‖g‖ > 1.8e19), not the algorithm at the instance."""
    return 1e3 * max(1.0, max(abs(float(v)) for v in x0))


def safe_steps(candidates: Callable[[list], list[NormaliserFit] | None], x0: list, most: int) -> int:
    """How many steps (≤ most) the paper's own iterates stay defined and within `reach` from x0,
    following the first candidate draw."""
    bound = reach(x0)
    point = [float(v) for v in x0]
    for t in range(most):
        fits = candidates(point)
        if not fits:
            return t
        point = fits[0].v0.tolist()
        if not all(abs(v) <= bound for v in point):
            return t + 1
    return most


def _finite_path(run: Callable[[int], torch.Tensor], steps: int, judged: Callable[[list], bool]) -> torch.Tensor:
    """The iterates of `run(steps)` (n, steps + 1, d), or of fewer steps where a step that would
    not be judged (`judged(point)` false: beyond `reach`, or where the paper's step is undefined)
    gave NaN or inf: the paper's own iterates diverge there (η = 1/4, ρ = 1 on a quartic), or its
    step is 0/0 (SAP's iterate landing exactly where ∇f_i = 0) — arithmetic, not the algorithm at
    the instance. A run is replayed exactly by its seed, so the shorter run is the longer one's start."""
    try:
        return run(steps)
    except NonFiniteError:
        if steps == 1:
            raise
        prefix = _finite_path(run, steps - 1, judged)
        if prefix.shape[1] < steps or not all(judged(row.tolist()) for row in prefix[:, -1].double()):
            return prefix
        raise


def judge_path(
    impl,
    problem: Problem,
    x0: torch.Tensor,
    hp: dict[str, Any],
    seed: int,
    steps: int,
    candidates: Callable[[list], list[NormaliserFit] | None],
    what: str,
    model: ErrorModel = F64,
) -> PathJudgement:
    """Run `steps` steps of one optimizer per row of x0 (n, d) at the model's dtype, and judge every
    step t → t + 1 from a point within `reach` against the paper's step from the point reached, for
    whichever candidate draw (the harness's example, the algorithm's sign) explains it best, under
    the `ErrorModel`. With hp's `ITERATION` = i > 0 the optimizers are i steps into a run
    (`Chains`); a fresh object's steps are judged first, as they cost little: a defect of the first
    steps (ρ warmed up) and one that waits for a step count both show at every such instance."""
    bound = reach(x0[0].tolist())

    def judged(point: list) -> bool:
        return max(abs(v) for v in point) <= bound and bool(candidates(point))

    def judge(run_hp: dict[str, Any]) -> PathJudgement:
        path = _finite_path(lambda n: impl.run_many(problem, x0.to(model.dtype), run_hp, seed, n), steps, judged)
        return _judge_steps(path.cpu().to(torch.float64), run_hp, candidates, what, model, bound)

    if not hp.get(ITERATION, 0):
        return judge(hp)
    fresh = judge({**hp, ITERATION: 0})
    if fresh.holds is not True:
        return fresh
    late = judge(hp)
    if late.holds is True:
        late.margin = min(late.margin, fresh.margin)
    return late


def _judge_steps(
    path: torch.Tensor, hp: dict[str, Any], candidates: Callable, what: str, model: ErrorModel, bound: float
) -> PathJudgement:
    """`judge_path`'s verdict on one run's iterates path (n, steps + 1, d)."""
    start = int(hp.get(ITERATION, 0))
    steps = path.shape[1] - 1
    worst: tuple[float, str] = (math.inf, "")
    largest = (0.0, "")
    judged_steps = 0
    for r in range(path.shape[0]):
        for t in range(steps):
            fits = candidates(path[r, t].tolist()) if float(path[r, t].abs().max()) <= bound else None
            if not fits:
                break
            judged_steps += 1
            judged = [f.fit(path[r, t + 1]) for f in fits]
            k = max(range(len(fits)), key=lambda j: float(judged[j].margin[0]))
            fit, got = fits[k], judged[k]
            m = float(got.margin[0])
            if not bool(got.ok[0]):
                values = {
                    **hp,
                    "steps": steps,
                    "failed_step": start + t + 1,
                    "chain": r,
                    "point": path[r, t].tolist(),
                    "step": path[r, t + 1].tolist(),
                    "predicted_step": fit.v0.tolist(),
                    "candidate": k,
                    "max_abs_error": float((path[r, t + 1] - fit.v0).abs().max()),
                    "tolerance": float(fit.tol0.min()),
                    "grad_norm": fit.norm,
                }
                kind, value = fit.explain(path[r, t + 1])
                where = f"step {t + 1} of {steps} (of one optimizer, from the point it reached)"
                if start:
                    where = (
                        f"step {start + t + 1} of one optimizer ({start} steps on a linear loss, then "
                        f"{t + 1} of {steps} from the point it reached)"
                    )
                if kind == "guard":
                    values["guard"] = value
                    note = (
                        f"{where} equals {what} with a guard ε = {value:.2g} in the normaliser, larger than "
                        f"{GUARD_CAP:.0e}·‖g‖ at ‖g‖ = {fit.norm:.3g}: a guard and a changed radius cannot be told "
                        "apart here"
                    )
                    return PathJudgement(None, m, note, values)
                note = f"{where} differs from {what} beyond round-off and every admitted normaliser"
                if kind == "radius":
                    values["radius_ratio"] = value
                    note += f"; it equals {what} with the ascent radius scaled by {value:.6g}"
                return PathJudgement(False, m, note, values)
            if m < worst[0]:
                worst = (m, fit.agreement(float(got.shift[0])))
            rel = abs(float(got.shift[0])) / fit.norm
            if rel > largest[0]:
                largest = (rel, fit.agreement(float(got.shift[0])))
    agreement = largest[1] or worst[1]
    values = {
        **hp,
        "steps": steps,
        "chains": path.shape[0],
        "steps_judged": judged_steps,
        "agreement": agreement,
        "dtype": str(model.dtype),
    }
    return PathJudgement(True, worst[0], agreement, values)
