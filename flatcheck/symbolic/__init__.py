"""Symbolic derivations with sympy: derivatives, Taylor polynomials, exact moments, Proj⊥."""

from flatcheck.symbolic.calculus import (
    gradient,
    hessian,
    proj_out,
    substitute,
    taylor_in,
    third_contraction,
)
from flatcheck.symbolic.moments import DISTRIBUTIONS, expectation, monomial_moment

__all__ = [
    "DISTRIBUTIONS",
    "expectation",
    "gradient",
    "hessian",
    "monomial_moment",
    "proj_out",
    "substitute",
    "taylor_in",
    "third_contraction",
]
