"""Families for the NSO paper's claims, each with what it knows exactly.

- smooth non-polynomial losses (logistic regression, a tanh unit with squared loss), defined in
  sympy, for the Gaussian-smoothing expansions of Proposition 2.1 and Lemma A.4 where exact
  moments do not exist and Monte Carlo decides;
- covariances Σ (anisotropic, possibly singular) for U ~ N(0, Σ);
- smoothing instances: a problem, a point W and a covariance shape Σ₀.
"""

from __future__ import annotations

from dataclasses import dataclass
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
def smoothing_instances(draw, isotropic: bool = False, max_d: int = 4) -> SmoothingInstance:
    """Polynomials (exact moments decide; d ≤ 3 keeps the sextic moments to a second) and smooth
    non-polynomial losses (Monte Carlo decides)."""
    prob = draw(st.one_of(smooth_problems(max_d=min(max_d, 3), degrees=(3, 4, 6)), smooth_losses(max_d)))
    return SmoothingInstance(prob, draw(points(prob.d, -4, 4)), draw(covariances(prob.d, isotropic)))
