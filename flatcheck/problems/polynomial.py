"""Random polynomials built from ridge terms, compact in any dimension.

    f(x) = ½ xᵀAx + Σ_j b_j (u_jᵀx)³/6 + Σ_j c_j (w_jᵀx)⁴/24 [+ Σ_j e_j (z_jᵀx)⁶/720]

Written as ridge powers the expression has O(m·d) terms instead of O(d⁴), so it compiles fast
for d = 50 and its Hessian norm on a ball has a closed-form bound.
Quartics are the catalog's "random quartic polynomials"; the optional sextic ridge terms make
the O(ρ³) remainders of ahn2024 (4)-(5) non-zero (for a quartic they vanish identically).
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.problem import Problem
from flatcheck.problems.quadratic import householder

_FACT = {3: 6, 4: 24, 6: 720}


def _norm(v: list[sp.Rational]) -> float:
    return math.sqrt(sum(float(c) ** 2 for c in v))


def ridge_polynomial(
    eigenvalues: list[sp.Rational],
    u: list[sp.Rational],
    ridges: list[tuple[int, sp.Rational, list[sp.Rational]]],
    center: list[sp.Rational] | None = None,
) -> Problem:
    """½(x−c)ᵀA(x−c) + Σ coef·(dirᵀ(x−c))^k / k! over ridges = [(k, coef, dir), ...]."""
    d = len(eigenvalues)
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    c = sp.Matrix(center if center is not None else [0] * d)
    y = sp.Matrix(xs) - c
    h = householder(u)
    a = h * sp.diag(*eigenvalues) * h
    expr = (y.T * a * y)[0] / 2
    for k, coef, direction in ridges:
        expr += coef * (sp.Matrix(direction).T * y)[0] ** k / _FACT[k]
    lam = max(abs(float(e)) for e in eigenvalues)
    c_norm = _norm(list(c))

    def beta_on_ball(center_: torch.Tensor, radius: float) -> float:
        # ‖∇²f(x)‖ ≤ ‖A‖ + Σ |coef|·‖dir‖^k·|dirᵀ(x−c)|^(k−2)/(k−2)!  with |dirᵀ(x−c)| ≤ ‖dir‖·r.
        r = float(torch.linalg.vector_norm(center_.double().cpu())) + c_norm + radius
        total = lam
        for k, coef, direction in ridges:
            nd = _norm(direction)
            total += abs(float(coef)) * nd**2 * (nd * r) ** (k - 2) / math.factorial(k - 2)
        return total

    return Problem(
        family="ridge_polynomial",
        symbols=xs,
        expr=expr,
        params={
            "eigenvalues": [str(e) for e in eigenvalues],
            "u": [str(v) for v in u],
            "ridges": [[k, str(coef), [str(v) for v in direction]] for k, coef, direction in ridges],
            "center": [str(v) for v in c],
        },
        beta_on_ball=beta_on_ball,
        known={"A": a},
    )


def nonzero(problem: Problem) -> bool:
    """Whether f is not the zero polynomial: hypothesis's simplest `random_polynomials` draw, and so the
    first instance of every run of a claim drawing them first; a step claim learns nothing there (no
    gradient anywhere), so such claims filter it out (`random_polynomials(…).filter(nonzero)`)."""
    return problem.expr != 0


_coef = st.builds(lambda p, q: sp.Rational(p, q), st.integers(-4, 4), st.sampled_from([1, 2, 4]))


@st.composite
def random_polynomials(
    draw,
    d: st.SearchStrategy[int] = st.integers(2, 8),
    degrees: tuple[int, ...] = (3, 4),
    ridges: st.SearchStrategy[int] = st.integers(1, 3),
) -> Problem:
    """Hypothesis strategy: a ridge polynomial with terms of the given degrees (quartic by default)."""
    n = draw(d)
    eig = draw(st.lists(st.builds(lambda p: sp.Rational(p, 2), st.integers(0, 8)), min_size=n, max_size=n))
    u = draw(st.lists(_coef, min_size=n, max_size=n))
    terms = []
    for k in degrees:
        for _ in range(draw(ridges)):
            direction = draw(st.lists(_coef, min_size=n, max_size=n))
            terms.append((k, draw(_coef), direction))
    return ridge_polynomial(eig, u, terms)
