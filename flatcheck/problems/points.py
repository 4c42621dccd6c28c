"""Strategies for points and scalars, shared by claims (exported for users' own properties)."""

from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st


def rationals(lo: int, hi: int, denominators: tuple[int, ...] = (1, 2, 4, 8)) -> st.SearchStrategy[sp.Rational]:
    """Rationals p/q with lo ≤ p ≤ hi over the given denominators: exact in sympy, and small
    numbers shrink towards 0 so counterexamples come out readable."""
    return st.builds(lambda p, q: sp.Rational(p, q), st.integers(lo, hi), st.sampled_from(denominators))


def points(d: int, lo: int = -8, hi: int = 8, denominators: tuple[int, ...] = (2, 4, 8)) -> st.SearchStrategy:
    """A point of Q^d as a list of sympy Rationals."""
    return st.lists(rationals(lo, hi, denominators), min_size=d, max_size=d)


def log_uniform(lo_exp: int, hi_exp: int) -> st.SearchStrategy[float]:
    """2^k for integer k in [lo_exp, hi_exp] (step sizes, radii)."""
    return st.builds(lambda k: 2.0**k, st.integers(lo_exp, hi_exp))


def iterations() -> st.SearchStrategy[int]:
    """The iteration i at which a step claim checks an optimizer's steps (i + 1, i + 2, …): a fresh
    object (0; its second step is already the one where state made at the first is used) and late
    in a run (63, 599: a cache, a schedule or a freeze that switches on after a warm-up). The checked
    steps 64 and 600 are multiples of every period of 2–6, 8, 10, 12, 15, 16, 20, 24, 25, 30, 32, 40,
    50, 60, 64, 75, 100, 120, 150, 200, 300, 600, so a defect on every k-th step (a cache refreshed
    on a timer) is stepped at for such k. A paper's update rule holds at every i; shrinking goes to
    the earliest i that shows a defect."""
    return st.sampled_from((0, 63, 599))


# How a user's optimizer gets a step claim's parameter vector (`flatcheck.impl.protocol.parameter_shapes`):
# a matrix, a vector and a scalar in one param group; the same tensors with a param group each; a
# wide matrix, at least 2 × 2 from d = 4 on (a single row below).
LAYOUTS = ("tensors", "groups", "wide")


def layouts() -> st.SearchStrategy[str]:
    """The tensor layout a step claim hands a user's optimizer its parameters in (`LAYOUTS`): a
    model's parameters are several tensors, often in several param groups, and its matrices have
    many columns; a paper's x is the whole vector whatever the layout, so a norm, a projection or
    a draw made per tensor, per param group, or per matrix row or column differs from the paper's.
    Each layout shows a defect the others cannot (one tensor has no group to differ by, a 2 × 1
    matrix no second column); shrinking goes to the first."""
    return st.sampled_from(LAYOUTS)


def unit_vector(d: int) -> st.SearchStrategy[list[float]]:
    """A direction on S^{d−1}, drawn as a normalised integer vector (never zero)."""
    return (
        st.lists(st.integers(-6, 6), min_size=d, max_size=d)
        .filter(any)
        .map(lambda v: [c / sum(x * x for x in v) ** 0.5 for c in v])
    )
