"""Quadratics f(x) = ½ xᵀAx with an exactly known spectrum.

A = H diag(λ) H with H = I − 2uuᵀ/uᵀu a rational Householder reflection, so A is rational, its
eigenpairs are exact (λ_i, H e_i), and sympy computes with it without round-off.
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.problem import Problem


def householder(u: list[sp.Rational]) -> sp.Matrix:
    v = sp.Matrix(u)
    n = (v.T * v)[0]
    if n == 0:
        return sp.eye(len(u))
    return sp.eye(len(u)) - 2 * v * v.T / n


def quadratic(eigenvalues: list[sp.Rational], u: list[sp.Rational]) -> Problem:
    """½ xᵀAx with A = H diag(eigenvalues) H."""
    d = len(eigenvalues)
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    h = householder(u)
    a = h * sp.diag(*eigenvalues) * h
    x = sp.Matrix(xs)
    expr = sp.expand((x.T * a * x)[0] / 2)
    beta = float(max(abs(e) for e in eigenvalues))
    prob = Problem(
        family="quadratic",
        symbols=xs,
        expr=expr,
        params={"eigenvalues": [str(e) for e in eigenvalues], "u": [str(c) for c in u]},
        beta_on_ball=lambda center, radius: beta,
        known={"A": a, "eigenvalues": list(eigenvalues), "eigenvectors": h},
    )
    return prob


_small_rational = st.builds(lambda p, q: sp.Rational(p, q), st.integers(-8, 8), st.sampled_from([1, 2, 4, 8]))


@st.composite
def quadratics(draw, d: st.SearchStrategy[int] = st.integers(2, 6), psd: bool = True) -> Problem:
    """Hypothesis strategy for quadratics. psd=True: eigenvalues in [0, 8] (some may be 0)."""
    n = draw(d)
    lo = 0 if psd else -8
    eig = draw(
        st.lists(
            st.builds(lambda p, q: sp.Rational(p, q), st.integers(lo, 16), st.sampled_from([1, 2, 4])),
            min_size=n,
            max_size=n,
        )
    )
    if not any(e != 0 for e in eig):
        eig[0] = sp.Integer(1)
    u = draw(st.lists(_small_rational, min_size=n, max_size=n))
    return quadratic(eig, u)


def to_tensor(m: sp.Matrix, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
    return torch.tensor([[float(v) for v in row] for row in m.tolist()], dtype=dtype, device=device)
