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


def toy_caption_facts(
    eigenvalues: tuple[sp.Expr, sp.Expr], split: tuple[sp.Expr, sp.Expr], eig_label: str, split_label: str
) -> dict[str, bool]:
    """The Figure 1 caption's checkable statements about the toy, for given readings of the non-zero
    Hessian eigenvalues on Γ and of the per-example split (the caption's or the corrected ones)."""
    from flatcheck.problems.wen_toy import wen_toy

    prob = wen_toy()
    x0, x1, y0, y1 = prob.symbols
    f0, f1 = prob.known["F"]
    on_gamma = {y0: 0, y1: 0}
    eig = prob.hess_expr.subs(on_gamma).eigenvals()
    nonzero = sorted((sp.expand(e) for e in eig if sp.expand(e) != 0), key=sp.default_sort_key)
    corners = [f1.subs({x0: a, x1: b}) for a in (0, 1) for b in (0, 1)]  # F₁ is convex: max at a vertex
    return {
        "zero-loss manifold {y = 0}": sp.expand(prob.expr.subs(on_gamma)) == 0,
        f"Hessian eigenvalues on Γ are {eig_label}": nonzero
        == sorted(map(sp.expand, eigenvalues), key=sp.default_sort_key),
        "F₀ ≥ 8 > 6 ≥ F₁ on [0, 1]²": sp.expand(f0 - 8 - x0**2 - 6 * x1**2) == 0 and max(corners) == 6,
        f"split {split_label} sums to a multiple of L": sp.simplify(sum(split) / prob.expr).is_number,
    }


# The caption gives no hyper-parameters; these are flatcheck's, shared by wen2023.figure1 and its
# corrected reading: kind -> (hyper-parameters, steps by profile quick/default/thorough).
# SAM η = 1/40, ρ = 3/10 keeps ηλ₁ ≤ 3/4 on [0, 1]².
FIGURE1_RUNS: dict[str, tuple[dict[str, float], tuple[int, int, int]]] = {
    "sam": ({"lr": 0.025, "rho": 0.3}, (800, 1500, 3000)),
    "ascent_gd": ({"lr": 0.01, "rho": 0.2}, (1000, 1500, 3000)),
    "sam_stochastic": ({"lr": 0.012, "rho": 0.3}, (600, 1200, 2400)),
}
