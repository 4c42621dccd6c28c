"""Composite strategies: a problem together with a point (and a direction) in its domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.example1 import example1
from flatcheck.problems.points import points, unit_vector
from flatcheck.problems.polynomial import nonzero, random_polynomials
from flatcheck.problems.problem import Problem
from flatcheck.problems.quadratic import quadratics


@dataclass
class PointInstance:
    """A problem, a rational point x, optionally a unit direction g, and named scalars."""

    problem: Problem
    x: list[sp.Rational]
    g: list[float] | None = None
    scalars: dict[str, float] = field(default_factory=dict)

    def x_tensor(self, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
        return torch.tensor([float(v) for v in self.x], dtype=dtype, device=device)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"problem": self.problem.describe(), "x": [str(v) for v in self.x]}
        if self.g is not None:
            out["g"] = self.g
        out.update(self.scalars)
        return out


def smooth_problems(max_d: int = 6, degrees: tuple[int, ...] = (3, 4)) -> st.SearchStrategy[Problem]:
    """Example 1, PSD quadratics and random ridge polynomials (with the given ridge degrees)."""
    return st.one_of(
        st.just(example1()),
        quadratics(d=st.integers(2, max_d)),
        random_polynomials(d=st.integers(2, max_d), degrees=degrees),
    )


def step_problems(
    polynomial_d: st.SearchStrategy[int], quadratic_d: st.SearchStrategy[int]
) -> st.SearchStrategy[Problem]:
    """What a step claim steps an optimizer on: random cubic-and-quartic ridge polynomials drawn first
    (where a defect of the noise, the direction or a matrix's rows shows), without the zero
    polynomial (hypothesis's simplest draw, no gradient anywhere: `nonzero`), Example 1, and PSD
    quadratics (steps exact in closed form)."""
    return st.one_of(random_polynomials(d=polynomial_d).filter(nonzero), st.just(example1()), quadratics(d=quadratic_d))


@st.composite
def point_instances(
    draw,
    problems: st.SearchStrategy[Problem],
    with_direction: bool = False,
    scalars: dict[str, st.SearchStrategy[float]] | None = None,
    lo: int = -8,
    hi: int = 8,
) -> PointInstance:
    prob = draw(problems)
    x = draw(points(prob.d, lo, hi))
    g = draw(unit_vector(prob.d)) if with_direction else None
    vals = {k: draw(s) for k, s in (scalars or {}).items()}
    return PointInstance(prob, x, g, vals)
