"""Exact expectations of polynomials under an anisotropic Gaussian U ~ N(0, Σ).

For a polynomial p, E p(U) = [exp(½ ∂ᵀΣ∂) p](0) = Σ_m (1/m!) [(½ Σ_ij Σ_ij ∂_i∂_j)^m p](0):
the heat operator applied to p, evaluated at the origin (Wick/Isserlis in operator form). Σ may
hold symbols (e.g. s·Σ₀ with a symbolic scale s), so expansions in Σ come out as polynomials.
`flatcheck.symbolic.expectation(…, "gaussian")` is the isotropic special case Σ = I.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
import torch

from flatcheck import cache


def gaussian_expectation(expr: sp.Expr, u: Sequence[sp.Symbol], cov: sp.Matrix) -> sp.Expr:
    """E_{U ~ N(0, cov)} expr, where expr is a polynomial in the symbols u (others are constants).

    Kept on disk (`flatcheck.cache`): the repeated expansion of the heat operator is the costly part."""
    if cov.shape != (len(u), len(u)):
        raise ValueError(f"covariance of shape {cov.shape} does not match {len(u)} variables")
    inputs = [cache.expr_key(tuple(u)), cache.expr_key(sp.ImmutableMatrix(cov)), cache.expr_key(expr)]
    key = "\n".join(["gaussian", *inputs, cache.code_key(__file__)])
    return cache.memo("moments", key, lambda: _gaussian_expectation(expr, u, cov))


def _gaussian_expectation(expr: sp.Expr, u: Sequence[sp.Symbol], cov: sp.Matrix) -> sp.Expr:
    d = len(u)
    term = sp.expand(expr)
    if term == 0:
        return sp.Integer(0)
    degree = sp.Poly(term, *u).total_degree()
    at_zero = dict.fromkeys(u, 0)
    total = sp.Integer(0)
    for m in range(degree // 2 + 1):
        total += term.subs(at_zero) / sp.factorial(m)
        term = sp.expand(
            sum(cov[i, j] * sp.diff(term, u[i], u[j]) for i in range(d) for j in range(d) if cov[i, j] != 0) / 2
        )
    return sp.expand(total)


def gaussian_draws(cov: torch.Tensor, n: int, generator: torch.Generator, antithetic: bool = False) -> torch.Tensor:
    """n draws of U ~ N(0, cov), (n, d); cov may be singular (PSD). antithetic=True returns pairs
    (U, −U), the symmetric sampling of a claim about ½(f(W+U) + f(W−U))."""
    d = cov.shape[0]
    vals, vecs = torch.linalg.eigh(cov)
    root = vecs * vals.clamp(min=0).sqrt()  # root rootᵀ = cov, also for rank-deficient cov
    m = (n + 1) // 2 if antithetic else n
    z = torch.randn((m, d), generator=generator, dtype=cov.dtype, device=cov.device)
    u = z @ root.T
    return torch.cat([u, -u])[:n] if antithetic else u


def smoothed(expr: sp.Expr, xs: Sequence[sp.Symbol], w: Sequence[sp.Expr], cov: sp.Matrix, two_point: bool) -> sp.Expr:
    """E_U f(w + U), or the two-point E_U ½(f(w + U) + f(w − U)) (NSO Proposition 2.1), exactly,
    for a polynomial f = expr in xs and U ~ N(0, cov)."""
    u = sp.symbols(f"u1:{len(xs) + 1}", real=True)
    plus = expr.subs(dict(zip(xs, [a + b for a, b in zip(w, u)])), simultaneous=True)
    if two_point:
        minus = expr.subs(dict(zip(xs, [a - b for a, b in zip(w, u)])), simultaneous=True)
        plus = (plus + minus) / 2
    return gaussian_expectation(plus, u, cov)


def lowest_order(expr: sp.Expr, s: sp.Symbol) -> float:
    """The smallest power of s with a non-zero coefficient in the polynomial expr (∞ for 0)."""
    expr = sp.expand(expr)
    if expr == 0:
        return float("inf")
    return float(min(m[0] for m in sp.Poly(expr, s).monoms()))
