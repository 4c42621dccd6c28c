"""ahn2024 Example 1 (§2.2): f(x₁, x₂) = (x₁x₂ − 1)².

X* = {x₁x₂ = 1}. Gradient flow conserves x₁² − x₂² (d/dt(x₁²−x₂²) = −2x₁∂₁f + 2x₂∂₂f = 0), the
conserved quantity that gives Φ (Definition 1) in closed form.
"""

from __future__ import annotations

import math

import sympy as sp
import torch

from flatcheck.problems.problem import Problem


def example1() -> Problem:
    x1, x2 = sp.symbols("x1 x2", real=True)

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # ‖∇²f‖ ≤ ‖∇²f‖_F with entries 2x₂², 2x₁², 4x₁x₂−2, and |x_i| ≤ R on the ball.
        r = float(torch.linalg.vector_norm(center.double().cpu())) + radius
        return math.sqrt(2 * (2 * r * r) ** 2 + 2 * (4 * r * r + 2) ** 2)

    return Problem(
        family="ahn2024_example1",
        symbols=(x1, x2),
        expr=(x1 * x2 - 1) ** 2,
        params={},
        beta_on_ball=beta_on_ball,
    )
