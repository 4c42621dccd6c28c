"""Families for the NSO paper's claims, each with what it knows exactly.

- smooth non-polynomial losses (logistic regression, a tanh unit with squared loss), defined in
  sympy, for the Gaussian-smoothing expansions of Proposition 2.1 and Lemma A.4 where exact
  moments do not exist and Monte Carlo decides;
- covariances Σ (anisotropic, possibly singular) for U ~ N(0, Σ);
- smoothing instances: a problem, a point W and a covariance shape Σ₀.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.instances import smooth_problems
from flatcheck.problems.points import points, rationals
from flatcheck.problems.problem import Problem


def logistic_loss(xs: list[list[sp.Rational]], ys: list[int]) -> Problem:
    """f(W) = (1/m) Σ_i log(1 + exp(−y_i x_iᵀW)): smooth, every derivative bounded."""
    d = len(xs[0])
    w = sp.symbols(f"x1:{d + 1}", real=True)
    expr = sum(sp.log(1 + sp.exp(-y * sum(a * b for a, b in zip(x, w)))) for x, y in zip(xs, ys)) / len(xs)
    return Problem(
        family="logistic_loss",
        symbols=w,
        expr=expr,
        params={"x": [[str(v) for v in x] for x in xs], "y": list(ys)},
        is_polynomial=False,
    )


def tanh_unit_loss(x: list[sp.Rational], y: sp.Rational) -> Problem:
    """ℓ(f_W(x), y) = ½(y − a·tanh(vᵀx))², W = (a, v): the loss of one example on a one-unit
    tanh network, as a function of its weights (the setting of Lemma A.4)."""
    d = len(x) + 1
    w = sp.symbols(f"x1:{d + 1}", real=True)
    expr = (y - w[0] * sp.tanh(sum(a * b for a, b in zip(x, w[1:])))) ** 2 / 2
    return Problem(
        family="tanh_unit_loss",
        symbols=w,
        expr=expr,
        params={"x": [str(v) for v in x], "y": str(y)},
        is_polynomial=False,
    )


@st.composite
def logistic_losses(draw, d: st.SearchStrategy[int] = st.integers(2, 4)) -> Problem:
    n = draw(d)
    m = draw(st.integers(1, 3))
    # Non-zero x_i: a zero example contributes a constant, which compiles to no tensor at all.
    xs = [draw(points(n, -4, 4, (1, 2)).filter(any)) for _ in range(m)]
    ys = [draw(st.sampled_from([-1, 1])) for _ in range(m)]
    return logistic_loss(xs, ys)


@st.composite
def tanh_unit_losses(draw, d: st.SearchStrategy[int] = st.integers(1, 3)) -> Problem:
    n = draw(d)
    return tanh_unit_loss(draw(points(n, -4, 4, (1, 2)).filter(any)), draw(rationals(-4, 4, (1, 2))))


def cubic_kink_loss(cs: list[sp.Rational], a: list[list[sp.Rational]], b: list[sp.Rational]) -> Problem:
    """f(W) = Σ_j c_j |a_jᵀW − b_j|³: twice differentiable (f'' = 6c_j|t| along a_j), not C³ on the
    hyperplanes a_jᵀW = b_j. Written as a Piecewise of cubics, so every derivative is a piecewise
    polynomial (Abs would differentiate into sign and DiracDelta)."""
    d = len(a[0])
    w = sp.symbols(f"x1:{d + 1}", real=True)
    ts = [sum(ai * x for ai, x in zip(aj, w)) - bj for aj, bj in zip(a, b)]
    expr = sum(c * sp.Piecewise((t**3, t >= 0), (-(t**3), True)) for c, t in zip(cs, ts))
    params = {"c": [str(v) for v in cs], "a": [[str(v) for v in aj] for aj in a], "b": [str(v) for v in b]}

    def gaussian_mean(at: list[sp.Rational], cov0: sp.Matrix, s: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
        # E f(W + U), U ~ N(0, s·Σ₀), as (a polynomial in √s, a part that is o(s^k) for every k):
        # a_jᵀ(W+U) − b_j ~ N(±δ_j, σ_j²), σ_j² = s·a_jᵀΣ₀a_j, and for Z ~ N(0, 1), δ ≥ 0, r = δ/σ:
        # E|δ + σZ|³ = δ³ + 3δσ² − (δ³ + 3δσ²) erfc(r/√2) + 2σ(δ² + 2σ²) φ(r), whose last two
        # terms vanish for δ = 0 except 4σ³/√(2π), and are exponentially small in 1/s for δ > 0.
        powers, flat = sp.Integer(0), sp.Integer(0)
        for c, aj, bj in zip(cs, a, b):
            delta = abs(sum(ai * x for ai, x in zip(aj, at)) - bj)
            var = s * (sp.Matrix([aj]) * cov0 * sp.Matrix(aj))[0]
            sigma = sp.sqrt(var)
            powers += c * (delta**3 + 3 * delta * var)
            if var == 0:
                continue
            if delta == 0:
                powers += c * 4 * sigma**3 / sp.sqrt(2 * sp.pi)
                continue
            phi = sp.exp(-(delta**2) / (2 * var)) / sp.sqrt(2 * sp.pi)
            erfc = sp.erfc(delta / (sigma * sp.sqrt(2)))
            flat += c * (2 * sigma * (delta**2 + 2 * var) * phi - (delta**3 + 3 * delta * var) * erfc)
        return powers, flat

    return Problem(
        family="cubic_kink_loss",
        symbols=w,
        expr=expr,
        params=params,
        is_polynomial=False,
        known={"gaussian_mean": gaussian_mean},
    )


@st.composite
def cubic_kink_instances(draw, max_d: int = 3) -> tuple[Problem, list[sp.Rational]]:
    """A cubic-kink loss and a point W on its first kink's hyperplane a_1ᵀW = b_1: there the smoothing
    remainder is c_1·E|a_1ᵀU|³ = Θ(‖Σ‖^{3/2}), the order a C² loss can need. A second kink, if
    drawn, lies anywhere."""
    n = draw(st.integers(1, max_d))
    k = draw(st.integers(1, 2))
    a = [draw(points(n, -2, 2, (1, 2)).filter(any)) for _ in range(k)]
    cs = [draw(st.sampled_from([sp.Integer(1), sp.Rational(1, 2), sp.Integer(2)])) for _ in range(k)]
    w = draw(points(n, -4, 4))
    on_kink = sum(ai * wi for ai, wi in zip(a[0], w))
    b = [on_kink] + [draw(rationals(-4, 4, (1, 2))) for _ in range(k - 1)]
    return cubic_kink_loss(cs, a, b), w


def smooth_losses(max_d: int = 4) -> st.SearchStrategy[Problem]:
    """Non-polynomial smooth losses (Monte Carlo decides their Gaussian expectations)."""
    return st.one_of(logistic_losses(st.integers(2, max_d)), tanh_unit_losses(st.integers(1, max_d - 1)))


@st.composite
def covariances(draw, d: int, isotropic: bool = False) -> sp.Matrix:
    """A PSD Σ₀ = BBᵀ/Tr(BBᵀ) with an integer B of rank ≤ d (singular Σ₀ included), so Tr Σ₀ = 1
    and ‖Σ₀‖₂ ∈ [1/d, 1]; isotropic=True gives I/d."""
    if isotropic:
        return sp.eye(d) / d
    r = draw(st.integers(1, d))
    b = sp.Matrix(d, r, draw(st.lists(st.integers(-3, 3), min_size=d * r, max_size=d * r)))
    s = b * b.T
    if s.trace() == 0:
        s = sp.eye(d)
    return s / s.trace()


@dataclass
class SmoothingInstance:
    """f, a point W and the shape Σ₀ of the noise covariance Σ = s·Σ₀ (s → 0 in the checks)."""

    problem: Problem
    w: list[sp.Rational]
    cov: sp.Matrix

    def w_tensor(self) -> torch.Tensor:
        return torch.tensor([float(v) for v in self.w], dtype=torch.float64)

    def cov_tensor(self) -> torch.Tensor:
        return torch.tensor([[float(v) for v in row] for row in self.cov.tolist()], dtype=torch.float64)

    def describe(self) -> dict[str, Any]:
        return {
            "problem": self.problem.describe(),
            "w": [str(v) for v in self.w],
            "cov": [[str(v) for v in row] for row in self.cov.tolist()],
        }


@st.composite
def smoothing_instances(draw, isotropic: bool = False, max_d: int = 4, c2_kinks: bool = False) -> SmoothingInstance:
    """Polynomials up to quartic ridges, d ≤ 3 (exact moments decide, in well under a second) and smooth
    non-polynomial losses (Monte Carlo decides); with c2_kinks, in three draws of four (the simplest
    included) twice-differentiable, not C³, cubic-kink losses at a kink (their closed-form Gaussian
    mean decides): the quick profile's four examples miss them with probability 4^{-4} only."""
    if c2_kinks and draw(st.integers(0, 3)) < 3:
        prob, w = draw(cubic_kink_instances(min(max_d, 3)))
    else:
        prob = draw(st.one_of(smooth_problems(max_d=min(max_d, 3), degrees=(3, 4)), smooth_losses(max_d)))
        w = draw(points(prob.d, -4, 4))
    return SmoothingInstance(prob, w, draw(covariances(prob.d, isotropic)))


# ---- NSO runs under Assumptions 4.1–4.2 with exactly known constants ------------------------------
#
# f = (1/n) Σ_i f_i with f_i(W) = φ(W) + c_iᵀW and Σ_i c_i = 0, so ∇f_i − ∇f = c_i does not depend
# on W. With the harness's mini-batches of size 1 drawn without replacement (hp batch_size=1,
# sampling="without_replacement") the oracle g = ∇f_i is unbiased with E‖g − ∇f‖² = (1/n)Σ‖c_i‖²
# exactly: that is σ² of Assumption 4.1, attained. C (Assumption 4.2) is sup‖∇²φ‖, attained.
# The oracle of an instance (`ORACLES`) is "fresh", an example per gradient evaluation, or "paired",
# one example per pair W ± U_j of Algorithm 1 line 4 (the proof's g_z, one seed z per perturbation;
# the harness's paired_batches). NSO's ξ_i = (1/2k)Σ_j (c_{z+} + c_{z−}) then has E‖ξ_i‖² = σ²/(2k)
# (fresh) or σ²/k (paired: Lemma 4.4's (7) attained).
# `grad_F`, `F_gap` give ∇F and F(W₀) − min F for P with i.i.d. coordinates of standard deviation
# σ_u (H(P) = dσ_u²): exact for the quadratic φ (F = f + const for every such P), by Gauss–Hermite
# quadrature (Gaussian P only) for the separable softplus φ.

HERMITE_NODES = 80
# ∇F's rule, the hot path (every iterate of every run): for σ_u ≤ 1 (every σ_u the families draw)
# E sigmoid(W + σ_uZ) at 40 nodes is within 3e-15 of 200 nodes over W ∈ [−40, 40] (measured), as
# at 80; half the work. Larger σ_u take HERMITE_NODES.
GRAD_NODES = 40


@lru_cache(maxsize=4)
def _hermite(nodes: int = HERMITE_NODES) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np

    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return torch.tensor(x, dtype=torch.float64), torch.tensor(w / np.sqrt(2 * np.pi), dtype=torch.float64)


def _examples(xs: tuple[sp.Symbol, ...], phi: sp.Expr, cs: list[list[sp.Rational]]) -> tuple[sp.Expr, ...]:
    return tuple(phi + sum(c * x for c, x in zip(ci, xs)) for ci in cs)


def _centered(cs: list[list[sp.Rational]]) -> list[list[sp.Rational]]:
    """The c_i minus their mean, so Σ c_i = 0 and f = φ exactly."""
    n, d = len(cs), len(cs[0])
    mean = [sum(c[j] for c in cs) / n for j in range(d)]
    return [[c[j] - mean[j] for j in range(d)] for c in cs]


def oracle_variance(cs: list[list[sp.Rational]]) -> sp.Rational:
    """E‖∇f_i − ∇f‖² for i uniform: σ² of Assumption 4.1 for batch size 1."""
    return sum(sum(v**2 for v in c) for c in cs) / len(cs)


def noisy_quadratic(eigenvalues: list[sp.Rational], u: list[sp.Rational], cs: list[list[sp.Rational]]) -> Problem:
    """φ(W) = ½WᵀAW, A = H diag(λ) H ⪰ 0: C = max λ, ∇F = AW, F(W₀) − min F = ½W₀ᵀAW₀."""
    from flatcheck.problems.quadratic import householder, to_tensor

    d = len(eigenvalues)
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    a = householder(u) * sp.diag(*eigenvalues) * householder(u)
    phi = sp.expand((sp.Matrix(xs).T * a * sp.Matrix(xs))[0] / 2)
    cs = _centered(cs)
    at = to_tensor(a)
    return Problem(
        family="nso_quadratic",
        symbols=xs,
        expr=phi,
        params={"eigenvalues": [str(e) for e in eigenvalues], "u": [str(v) for v in u], "c": _str(cs)},
        beta_on_ball=lambda center, radius: float(max(eigenvalues)),
        known={
            "A": a,
            "C": float(max(eigenvalues)),
            "sigma2": float(oracle_variance(cs)),
            "grad_F": lambda w, sigma_u: w @ at.to(w),
            "F_gap": lambda w0, sigma_u: float(w0 @ at @ w0) / 2,
            "noises": ("gaussian", "laplace", "uniform", "rademacher"),
        },
        examples=_examples(xs, phi, cs),
    )


def noisy_softplus(a: list[sp.Rational], lam: list[sp.Rational], cs: list[list[sp.Rational]]) -> Problem:
    """φ(W) = Σ_j a_j log(1 + e^{W_j}) + ½λ_j W_j² with a_j ≥ 0, λ_j > 0: C = max_j (a_j/4 + λ_j)
    (softplus'' = s(1 − s) ≤ ¼, attained at 0). Not even, so F ≠ f + const and the two-point
    average differs from the gradient at W: δ_i of Lemma 4.4 is not zero."""
    d = len(a)
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    phi = sum(aj * sp.log(1 + sp.exp(x)) + lj * x**2 / 2 for aj, lj, x in zip(a, lam, xs))
    cs = _centered(cs)
    at = torch.tensor([float(v) for v in a], dtype=torch.float64)
    lt = torch.tensor([float(v) for v in lam], dtype=torch.float64)
    nodes, weights = _hermite()
    minimizers: dict[float, torch.Tensor] = {}  # argmin F per σ_u: every D² of a claim reuses it

    def grad_F(w: torch.Tensor, sigma_u: float) -> torch.Tensor:
        # ∂_j F = a_j E sigmoid(W_j + σZ) + λ_j W_j, Z ~ N(0, 1) (Gauss–Hermite; exact at σ_u = 0).
        if sigma_u == 0:
            s = torch.sigmoid(w)
        else:
            x, wt = _hermite(GRAD_NODES if sigma_u <= 1 else HERMITE_NODES)
            s = torch.sigmoid(w.unsqueeze(-1) + sigma_u * x.to(w)) @ wt.to(w)
        return at.to(w) * s + lt.to(w) * w

    def F_coords(w: torch.Tensor, sigma_u: float) -> torch.Tensor:
        sp_ = torch.nn.functional.softplus(w.unsqueeze(-1) + sigma_u * nodes.to(w)) @ weights.to(w)
        return at.to(w) * sp_ + lt.to(w) * w**2 / 2

    def minimizer(sigma_u: float) -> torch.Tensor:
        # F is separable and strictly convex: bisect ∂_j F = 0 on [−a_j/λ_j, 0] coordinate-wise,
        # until the midpoint is an end (float64 exhausted; ~60 halvings, 200 at most).
        if sigma_u not in minimizers:
            lo, hi = -at / lt, torch.zeros_like(at)
            for _ in range(200):
                mid = (lo + hi) / 2
                if bool(((mid == lo) | (mid == hi)).all()):
                    break
                pos = grad_F(mid, sigma_u) > 0
                lo, hi = torch.where(pos, lo, mid), torch.where(pos, mid, hi)
            minimizers[sigma_u] = (lo + hi) / 2
        return minimizers[sigma_u]

    def F_gap(w0: torch.Tensor, sigma_u: float) -> float:
        return float((F_coords(w0, sigma_u) - F_coords(minimizer(sigma_u), sigma_u)).sum())

    return Problem(
        family="nso_softplus",
        symbols=xs,
        expr=phi,
        params={"a": [str(v) for v in a], "lam": [str(v) for v in lam], "c": _str(cs)},
        beta_on_ball=lambda center, radius: max(float(aj) / 4 + float(lj) for aj, lj in zip(a, lam)),
        is_polynomial=False,
        known={
            "C": max(float(aj) / 4 + float(lj) for aj, lj in zip(a, lam)),
            "sigma2": float(oracle_variance(cs)),
            "grad_F": grad_F,
            "F_gap": F_gap,
            "noises": ("gaussian",),
        },
        examples=_examples(xs, phi, cs),
    )


def _str(cs: list[list[sp.Rational]]) -> list[list[str]]:
    return [[str(v) for v in c] for c in cs]


@st.composite
def _offsets(draw, d: int, noiseless: bool) -> list[list[sp.Rational]]:
    if noiseless:
        return [[sp.Integer(0)] * d]
    n = draw(st.integers(2, 4))
    # At least two distinct offsets, so the oracle noise σ² is not zero.
    return draw(
        st.lists(points(d, -4, 4, (1, 2)), min_size=n, max_size=n).filter(lambda cs: len(set(map(tuple, cs))) > 1)
    )


# C of the families (Assumption 4.2), smallest first: hypothesis' simplest choice.
C_VALUES = (sp.Rational(1, 8), sp.Rational(1, 4), sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(4))


@st.composite
def nso_problems(
    draw, d: st.SearchStrategy[int] = st.integers(1, 4), noiseless: st.SearchStrategy[bool] = st.booleans()
) -> Problem:
    """Quadratics (eigenvalues in (0, C], the largest C, C ∈ {1/8 … 4}) and separable softplus
    losses, with a gradient oracle of known variance (none when `noiseless` draws True)."""
    n = draw(d)
    cs = draw(_offsets(n, draw(noiseless)))
    if draw(st.booleans()):
        c = draw(st.sampled_from(C_VALUES))
        fracs = draw(st.lists(st.sampled_from([sp.Rational(1, 4), sp.Rational(1, 2), 1]), min_size=n, max_size=n))
        fracs[0] = sp.Integer(1)
        u = draw(st.lists(rationals(-4, 4, (1, 2)), min_size=n, max_size=n))
        return noisy_quadratic([c * f for f in fracs], u, cs)
    a = draw(st.lists(st.sampled_from([0, 1, 2, 4]), min_size=n, max_size=n))
    lam = draw(st.lists(st.sampled_from([sp.Rational(1, 4), sp.Rational(1, 2), 1]), min_size=n, max_size=n))
    return noisy_softplus([sp.Integer(v) for v in a], lam, cs)


# The gradient oracles an NSO instance may ask of the harness, the worst case for (7) first.
ORACLES = ("paired", "fresh")


@dataclass
class NSOInstance:
    """A problem with known constants, W₀, the perturbation P (noise kind, σ_u), k and the oracle
    (`ORACLES`: an example per pair W ± U_j, or per evaluation)."""

    problem: Problem
    w0: list[sp.Rational]
    sigma_u: float
    k: int
    noise: str = "gaussian"
    scalars: dict[str, Any] | None = None
    oracle: str = "fresh"
    _d2: float | None = field(default=None, init=False, repr=False, compare=False)

    def w0_tensor(self) -> torch.Tensor:
        return torch.tensor([float(v) for v in self.w0], dtype=torch.float64)

    @property
    def C(self) -> float:
        return self.problem.known["C"]

    @property
    def sigma2(self) -> float:
        return self.problem.known["sigma2"]

    @property
    def H(self) -> float:
        """H(P) = E‖U‖² = dσ_u² for i.i.d. coordinates of standard deviation σ_u."""
        return self.problem.d * self.sigma_u**2

    def grad_F(self, w: torch.Tensor) -> torch.Tensor:
        return self.problem.known["grad_F"](w, self.sigma_u)

    def D2(self) -> float:
        """D² = F(W₀) − min F exactly (Assumption 4.2 with equality); computed once per instance
        (a bound, a step size and a report each read it)."""
        if self._d2 is None:
            self._d2 = self.problem.known["F_gap"](self.w0_tensor(), self.sigma_u)
        return self._d2

    def hp(self, lr: float, oracle_noise: bool = True) -> dict[str, Any]:
        """NSO's hyper-parameters by flatcheck name; the oracle is a size-1 mini-batch when σ² > 0,
        shared by each pair W ± U_j when `oracle` is "paired" (oracle_noise=False: the exact
        gradient, ξ_i = 0)."""
        hp: dict[str, Any] = {"lr": lr, "k": self.k, "sigma": self.sigma_u}
        if self.noise != "gaussian":  # the paper's default P; a user's class needs `noise` only for others
            hp["noise"] = self.noise
        if oracle_noise and self.problem.n_examples > 1:
            hp.update(batch_size=1, sampling="without_replacement")
            if self.oracle == "paired":
                hp["paired_batches"] = True
        return hp

    def describe(self) -> dict[str, Any]:
        return {
            "problem": self.problem.describe(),
            "w0": [str(v) for v in self.w0],
            "sigma_u": self.sigma_u,
            "k": self.k,
            "noise": self.noise,
            # Named only where paired: a fresh-oracle instance describes itself (and so seeds its
            # checks, `flatcheck.verify.runner.instance_seed`) as before the oracle was drawn.
            **({"oracle": self.oracle} if self.oracle != "fresh" else {}),
            **(self.scalars or {}),
        }


@st.composite
def nso_instances(
    draw,
    noiseless: st.SearchStrategy[bool] = st.booleans(),
    k: st.SearchStrategy[int] = st.sampled_from([1, 2, 4]),
    sigma_u: st.SearchStrategy[float] = st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    scalars: dict[str, st.SearchStrategy] | None = None,
    d: st.SearchStrategy[int] = st.integers(1, 4),
    oracle: st.SearchStrategy[str] = st.just("fresh"),
) -> NSOInstance:
    """`oracle` draws from `ORACLES` (default: the fresh one, as before it was drawn)."""
    prob = draw(nso_problems(d=d, noiseless=noiseless))
    noise = draw(st.sampled_from(prob.known["noises"]))
    sigma_u = draw(sigma_u)
    vals = {name: draw(s) for name, s in (scalars or {}).items()}
    # W₀ ≠ 0: at 0 every quantity of the runs vanishes on the symmetric families.
    w0 = draw(points(prob.d, -8, 8, (1, 2)).filter(any))
    return NSOInstance(prob, w0, sigma_u, draw(k), noise, vals, draw(oracle))


POSITIVE_SIGMA_U = st.sampled_from([0.25, 0.5, 1.0])


@st.composite
def edge_quadratic_runs(
    draw,
    scalars: dict[str, st.SearchStrategy],
    start: int = 8,
    oracle: st.SearchStrategy[str] = st.just("fresh"),
    sigma_u: st.SearchStrategy[float] = st.sampled_from([0.0, 0.25, 0.5, 1.0]),
) -> NSOInstance:
    """NSO runs on φ(W) = ½CW² in one coordinate with a noisy oracle and W₀ = ±`start` — where
    Lemma B.1's bound is attained and Theorem 4.3's approached — built without filters, so the simplest
    example hypothesis tries first (C = 1/8, the smallest) is one of them: a run of a handful of
    examples still starts at the edge. Two offsets differ by construction (σ² > 0), the others
    are free, all in [−4, 4] as in `nso_problems`. (`nso_instances` filters its draws, so its
    simplest example is rejected and the next ones are random: a strategy whose first example must
    be a given worst case starts with these runs.)"""
    c = draw(st.sampled_from(C_VALUES))
    first = draw(rationals(-4, 4, (1, 2)))
    spread = sp.Rational(draw(st.integers(1, 8)), 2)
    others = draw(st.lists(rationals(-4, 4, (1, 2)), min_size=0, max_size=2))
    cs = [[first], [first - spread if first > 0 else first + spread], *([v] for v in others)]
    prob = noisy_quadratic([c], [sp.Integer(1)], cs)
    noise = draw(st.sampled_from(prob.known["noises"]))
    sigma_u = draw(sigma_u)
    k = draw(st.sampled_from([1, 2, 4]))
    w0 = [sp.Integer(start if draw(st.booleans()) else -start)]
    return NSOInstance(prob, w0, sigma_u, k, noise, {name: draw(s) for name, s in scalars.items()}, draw(oracle))


def run_instances(budget: Any) -> st.SearchStrategy[NSOInstance]:
    """NSO runs: step size η = c/C (c ∈ {1 − 2⁻¹⁰, ½, ⅛}) and T steps (longer in larger profiles)."""
    steps = budget.scaled([4, 16], [4, 16, 64], [4, 16, 64, 256])
    return nso_instances(scalars={"c": st.sampled_from([1 - 2.0**-10, 0.5, 0.125]), "T": st.sampled_from(steps)})


# ---- where (28) and Lemma 4.4's C²H(P)/k are nearly attained ---------------------------------------
#
# The two-point average ½(∇f(W+U) + ∇f(W−U)) keeps only the even part of U ↦ ∇f(W+U), and (28)'s
# chain (Cauchy–Schwarz, then the Lipschitz bound) is tight only when that part is all of it and grows
# at slope C: ∇f = C|x| near W = 0. Its deviation is then C(|U| − E|U|), of variance C²·Var|U|, a
# ratio 1 − (E|U|)²/E U² to C²H(P): ½ at most under the paper's four laws (Laplace), 1 − p under the
# sparse law (`flatcheck.algorithms.sampling`). ψ below keeps ∇ψ = |x| on [−s, ∞) and bends back
# (∇ψ = x + 2s) below −s, so ∇ψ is 1-Lipschitz and ψ ≥ −s² is bounded below (Assumption 4.2).


def kinked_loss(c: sp.Rational, s: sp.Rational, d: int, cs: list[list[sp.Rational]], p: float) -> Problem:
    """φ(W) = C Σ_j ψ(W_j), ψ' = min(|x|, x + 2s): ∇φ C-Lipschitz (exact C), kinked at 0 and −s.
    ∇F is exact for the sparse law P of mass p off zero (three atoms per coordinate; the caller
    passes the sampler's p, `flatcheck.algorithms.SPARSE_P`); other laws are not offered."""
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    psi = [sp.Piecewise((x**2 / 2, x >= 0), (-(x**2) / 2, x >= -s), ((x + 2 * s) ** 2 / 2 - s**2, True)) for x in xs]
    phi = c * sum(psi)
    cs = _centered(cs)
    cf, sf = float(c), float(s)

    def dpsi(w: torch.Tensor) -> torch.Tensor:
        return torch.minimum(w.abs(), w + 2 * sf)

    def grad_F(w: torch.Tensor, sigma_u: float) -> torch.Tensor:
        a = sigma_u / p**0.5
        return cf * ((1 - p) * dpsi(w) + p / 2 * (dpsi(w + a) + dpsi(w - a)))

    return Problem(
        family="nso_kinked",
        symbols=xs,
        expr=phi,
        params={"C": str(c), "s": str(s), "p": p, "c": _str(cs)},
        beta_on_ball=lambda center, radius: cf,
        is_polynomial=False,
        known={"C": cf, "sigma2": float(oracle_variance(cs)), "grad_F": grad_F, "noises": ("sparse",)},
        examples=_examples(xs, phi, cs),
    )


@st.composite
def kinked_instances(
    draw,
    p: float,
    noiseless: st.SearchStrategy[bool] = st.booleans(),
    k: st.SearchStrategy[int] = st.sampled_from([1, 2, 4]),
    sigma_u: st.SearchStrategy[float] = POSITIVE_SIGMA_U,
) -> NSOInstance:
    """The kinked loss at W₀ = 0 under the sparse law of mass p off zero: with the bend s at or beyond
    the law's atom σ_u/√p, (28) holds with ratio 1 − p (and E‖δ‖² of Lemma 4.4 likewise against
    C²H(P)/k)."""
    d = draw(st.integers(1, 3))
    sigma = draw(sigma_u)
    s = sp.Integer(math.ceil(sigma / p**0.5)) * draw(st.sampled_from([1, 2]))
    prob = kinked_loss(draw(st.sampled_from(C_VALUES)), s, d, draw(_offsets(d, draw(noiseless))), p)
    return NSOInstance(prob, [sp.Integer(0)] * d, sigma, draw(k), "sparse")


# ---- matrix sensing (NSO paper (4), §2.1.1 and §3.1) ------------------------------------------------


@dataclass(frozen=True)
class MatrixSensing:
    """L̂(W) = (1/2n) Σ_i (⟨A_i, WWᵀ⟩ − y_i)², y_i = ⟨A_i, U*U*ᵀ⟩, A_i with i.i.d. N(0, 1) entries.

    Torch-only (d² parameters): `f`/`grad` take flat W of shape (..., d²), so the protocol can
    step an NSO/GD implementation on it; `d`, `examples`, `describe` complete the Problem surface."""

    a: torch.Tensor  # (n, d, d)
    ustar: torch.Tensor  # (d, r)
    a_val: torch.Tensor  # validation measurements (n_val, d, d)

    family = "matrix_sensing"
    examples = ()
    n_examples = 0
    is_polynomial = True

    @property
    def side(self) -> int:
        return self.a.shape[-1]

    @property
    def d(self) -> int:
        return self.side**2

    def describe(self) -> dict[str, Any]:
        return {"family": self.family, "side": self.side, "r": self.ustar.shape[1], "n": self.a.shape[0]}

    # What every evaluation shares, computed once (a run of 2000 steps evaluates ∇L̂ thousands of
    # times): X* = U*U*ᵀ and the measurements as (n, d²) rows — ⟨A_i, M⟩ is a matrix product.
    @cached_property
    def _xstar(self) -> torch.Tensor:
        return self.ustar @ self.ustar.T

    @cached_property
    def _rows(self) -> torch.Tensor:
        return self.a.reshape(self.a.shape[0], -1)

    @cached_property
    def _val_rows(self) -> torch.Tensor:
        return self.a_val.reshape(self.a_val.shape[0], -1)

    @cached_property
    def _sym_rows(self) -> torch.Tensor:
        """A_i + A_iᵀ as (n, d²) rows."""
        return (self.a + self.a.transpose(-1, -2)).reshape(self.a.shape[0], -1)

    def _residuals(self, w: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        m = w.reshape(*w.shape[:-1], self.side, self.side)
        x = m @ m.transpose(-1, -2)
        return (x - self._xstar).reshape(w.shape) @ rows.T

    def f(self, w: torch.Tensor) -> torch.Tensor:
        return (self._residuals(w, self._rows) ** 2).mean(-1) / 2

    def val_loss(self, w: torch.Tensor) -> torch.Tensor:
        return (self._residuals(w, self._val_rows) ** 2).mean(-1) / 2

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        """∇L̂(W) = (1/n) Σ_i r_i (A_i + A_iᵀ)W, flattened."""
        m = w.reshape(*w.shape[:-1], self.side, self.side)
        r = self._residuals(w, self._rows)
        weighted = (r @ self._sym_rows).reshape(m.shape)
        return (weighted @ m).reshape(w.shape) / self.a.shape[0]

    def hessian_trace_at_zero_loss(self, w: torch.Tensor) -> torch.Tensor:
        """Tr ∇²L̂(W) where L̂(W) = 0: (1/n) Σ_i ‖(A_i + A_iᵀ)W‖²_F (the residual term vanishes)."""
        m = w.reshape(*w.shape[:-1], 1, self.side, self.side)
        sym = self.a + self.a.transpose(-1, -2)
        return ((sym @ m) ** 2).sum((-1, -2)).mean(-1)

    def stated_trace(self, w: torch.Tensor) -> torch.Tensor:
        """The paper's formula for the Hessian at zero loss: (1/n) Σ_i ‖A_iW‖²_F (§2.1.1)."""
        m = w.reshape(*w.shape[:-1], 1, self.side, self.side)
        return ((self.a @ m) ** 2).sum((-1, -2)).mean(-1)

    def ustar_padded(self) -> torch.Tensor:
        """U* as a d×d W (zero columns beyond rank r), flattened: a zero-loss point."""
        w = torch.zeros(self.side, self.side, dtype=self.ustar.dtype)
        w[:, : self.ustar.shape[1]] = self.ustar
        return w.reshape(-1)


def matrix_sensing(side: int, rank: int, n: int, seed: int, n_val: int = 200) -> MatrixSensing:
    gen = torch.Generator().manual_seed(seed)
    ustar = torch.randn(side, rank, generator=gen, dtype=torch.float64)
    a = torch.randn(n, side, side, generator=gen, dtype=torch.float64)
    a_val = torch.randn(n_val, side, side, generator=gen, dtype=torch.float64)
    return MatrixSensing(a, ustar, a_val)


def rotated(ms: MatrixSensing, seed: int) -> torch.Tensor:
    """W = [U*, 0]·R with a random orthogonal R: WWᵀ = X*, so L̂(W) = 0 and W ≠ U* (flattened)."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(ms.side, ms.side, generator=gen, dtype=torch.float64))
    return (ms.ustar_padded().reshape(ms.side, ms.side) @ q).reshape(-1)


@st.composite
def sensing_instances(draw) -> dict[str, int]:
    """Sensing problems (side d, rank r, n measurements) for Proposition 2.3."""
    side = draw(st.integers(2, 6))
    rank = draw(st.integers(1, side))
    n = draw(st.sampled_from([16, 64, 256]))
    return {"side": side, "rank": rank, "n": n, "seed": draw(st.integers(0, 2**16))}


# ---- the lower-bound construction (8) of Theorem 4.5 ---------------------------------------------------


def h_piece(x: torch.Tensor, alpha: torch.Tensor, c: float) -> torch.Tensor:
    """h_i of (8): Cα²/4 on |x| ≤ α, −C(|x|−α)²/2 + Cα²/4 up to 3α/2, C(|x|−2α)²/2 up to 2α, then 0."""
    a = x.abs()
    return torch.where(
        a <= alpha,
        c * alpha**2 / 4,
        torch.where(
            a <= 1.5 * alpha,
            -c * (a - alpha) ** 2 / 2 + c * alpha**2 / 4,
            torch.where(a <= 2 * alpha, c * (a - 2 * alpha) ** 2 / 2, torch.zeros_like(a)),
        ),
    )


@dataclass(frozen=True)
class ChainConstruction:
    """f(W) = ⟨W, e₀⟩²/(2G) + Σ_{i<T} h_i(⟨W, e_{i+1}⟩) (8), in d = T + 1 coordinates, with
    G = max{1/C, 2Σηᵢ} and α_i = 2η_iσ/√k as in the proof of Lemma B.2. Torch-only (piecewise)."""

    c: float
    g: float
    alphas: torch.Tensor  # (T,)

    family = "nso_chain_construction"
    examples = ()
    n_examples = 0
    is_polynomial = False

    @property
    def d(self) -> int:
        return self.alphas.shape[0] + 1

    def describe(self) -> dict[str, Any]:
        return {"family": self.family, "C": self.c, "G": self.g, "T": self.d - 1}

    def f(self, w: torch.Tensor) -> torch.Tensor:
        return w[..., 0] ** 2 / (2 * self.g) + h_piece(w[..., 1:], self.alphas.to(w), self.c).sum(-1)

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        x = w[..., 1:].detach().requires_grad_(True)
        with torch.enable_grad():
            (gh,) = torch.autograd.grad(h_piece(x, self.alphas.to(w), self.c).sum(), x)
        return torch.cat([w[..., :1] / self.g, gh], -1)


def chain_construction(c: float, lrs: list[float], sigma: float, k: int) -> ChainConstruction:
    alphas = torch.tensor([2 * lr * sigma / k**0.5 for lr in lrs], dtype=torch.float64)
    return ChainConstruction(c, max(1 / c, 2 * sum(lrs)), alphas)
