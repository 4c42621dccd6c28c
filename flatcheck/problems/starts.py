"""Initial points x_init for dynamics claims on the wen2023 Figure 1 toy (variables x₀, x₁, y₀, y₁)."""

from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems.points import rationals


@st.composite
def toy_starts(draw) -> list[sp.Rational]:
    """x ∈ [0, 1]² (where F₀ ≥ 8 > 6 ≥ F₁, the caption's region) and y ∈ [−½, ½]² \\ {0} off Γ = {y = 0}."""
    x = [draw(rationals(0, 8, (8,))) for _ in range(2)]
    y = [draw(rationals(-4, 4, (8,)).filter(lambda v: v != 0)) for _ in range(2)]
    return x + y
