"""Derivatives, Taylor polynomials and the projecting-out operator, symbolically."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from flatcheck import cache


def gradient(expr: sp.Expr, xs: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.Matrix([sp.diff(expr, x) for x in xs])


def hessian(expr: sp.Expr, xs: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.hessian(expr, list(xs))


def third_contraction(hess: sp.Matrix, xs: Sequence[sp.Symbol], u: Sequence[sp.Expr]) -> sp.Matrix:
    """∇³f[u, u] as a vector from the Hessian H = ∇²f: component k is ∂_k(uᵀHu) (u constant).

    Taking the Hessian (usually cached by the problem) avoids d² fresh second derivatives; the result
    is kept on disk (`flatcheck.cache`)."""
    key = "\n".join(
        [cache.expr_key(hess), cache.expr_key(tuple(xs)), cache.expr_key(tuple(u)), cache.code_key(__file__)]
    )

    def make() -> sp.Matrix:
        uv = sp.Matrix(u)
        return gradient((uv.T * hess * uv)[0], xs)

    return cache.memo("derivatives", key, make)


def substitute(v: sp.Matrix | sp.Expr, xs: Sequence[sp.Symbol], point: Sequence[sp.Expr]):
    return v.subs(dict(zip(xs, point)), simultaneous=True)


def taylor_in(expr: sp.Expr, t: sp.Symbol, order: int) -> sp.Expr:
    """Taylor polynomial of expr in the scalar t about 0, up to and including t**order."""
    return sp.series(expr, t, 0, order + 1).removeO()


def proj_out(u: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
    """Proj⊥_u v = v − ⟨u/‖u‖, v⟩ u/‖u‖ (ahn2024 Definition 4).

    The definition divides by ‖u‖; at u = 0 there is no direction to remove and flatcheck takes
    the identity, as `flatcheck.numeric.proj_out` and the built-in algorithms do."""
    n2 = (u.T * u)[0]
    if n2 == 0:
        return v
    return v - ((u.T * v)[0] / n2) * u
