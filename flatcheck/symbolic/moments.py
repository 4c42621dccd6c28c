"""Exact expectations of polynomials in a random vector g, by moment formulas (no sampling).

For a monomial g^α = Π g_i^{α_i}:
- g ~ Unif(S^{d−1}):  E g^α = Π (α_i − 1)!! / (d (d+2) ⋯ (d + |α| − 2))  if every α_i is even, else 0;
- g ~ N(0, I):        E g^α = Π (α_i − 1)!!                             if every α_i is even, else 0;
- g Rademacher:       E g^α = 1                                         if every α_i is even, else 0;
- unit-variance i.i.d. coordinates (the NSO paper's other laws P, Table 1), odd moments 0:
  uniform on [−√3, √3]: E g_i^a = 3^{a/2}/(a + 1);  Laplace with scale 1/√2: E g_i^a = a!/2^{a/2};
  sparse (0 with probability 1 − p, else ±1/√p; `flatcheck.algorithms.sampling`): E g_i^a = p^{1 − a/2}, a > 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from flatcheck import cache

DISTRIBUTIONS = ("sphere", "gaussian", "rademacher", "uniform", "laplace", "sparse")
# The sparse law's p, exact; `flatcheck.algorithms.sampling` draws with it.
SPARSE_P = sp.Rational(1, 8)


def monomial_moment(alpha: Sequence[int], distribution: str) -> sp.Rational:
    if any(a % 2 for a in alpha):
        return sp.Integer(0)
    if distribution == "rademacher":
        return sp.Integer(1)
    if distribution == "uniform":
        return sp.prod([sp.Integer(3) ** (a // 2) / (a + 1) for a in alpha])
    if distribution == "laplace":
        return sp.prod([sp.factorial(a) / sp.Integer(2) ** (a // 2) for a in alpha])
    if distribution == "sparse":
        return sp.prod([SPARSE_P ** (1 - sp.Rational(a, 2)) for a in alpha if a > 0])
    num = sp.Integer(1)
    for a in alpha:
        num *= sp.factorial2(a - 1) if a > 0 else 1
    if distribution == "gaussian":
        return num
    if distribution == "sphere":
        d = len(alpha)
        den = sp.Integer(1)
        for j in range(sum(alpha) // 2):
            den *= d + 2 * j
        return num / den
    raise ValueError(f"unknown distribution {distribution!r}; expected one of {DISTRIBUTIONS}")


def expectation(expr: sp.Expr, g: Sequence[sp.Symbol], distribution: str) -> sp.Expr:
    """E_g[expr] where expr is polynomial in the symbols g (other symbols are constants).

    Kept on disk (`flatcheck.cache`): expanding a high power of a sum is the costly part."""
    key = f"{distribution}\n{cache.expr_key(tuple(g))}\n{cache.expr_key(expr)}\n{cache.code_key(__file__)}"
    return cache.memo("moments", key, lambda: _expectation(expr, g, distribution))


def _expectation(expr: sp.Expr, g: Sequence[sp.Symbol], distribution: str) -> sp.Expr:
    poly = sp.Poly(sp.expand(expr), *g)
    total = sp.Integer(0)
    for alpha, coeff in poly.terms():
        m = monomial_moment(alpha, distribution)
        if m != 0:
            total += coeff * m
    return sp.expand(total)
