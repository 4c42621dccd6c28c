r"""The 4-D toy of wen2023 Figure 1 (Wen, Ma, Li 2023).

Caption: "For x, y ∈ R², consider loss L(x, y) = F₀(x)y₀² + F₁(x)y₁² with F₀(x) = x₀² + 6x₁² + 8 and
F₁(x) = 4(1 − x₀)² + (1 − x₁)² + 1. L has a zero loss manifold {y = 0} and the eigenvalues of its
Hessian on manifold are F₀(x) and F₁(x) with F₀(x) ≥ 8 > 6 ≥ F₁(x) on [0, 1]². […] Stochastic SAM (7)
(with L₀(x, y) = F₀(x)x₀², L₁(x, y) = F₁(x)y₁²) finds the minimizer with smallest trace of Hessian."

What the formula gives (and what this module encodes; the discrepancies are findings of the
caption, reported by the wen2023 claims, never silently "fixed" in a claim):
- On Γ = {y = 0}, ∇²L = diag(0, 0, 2F₀(x), 2F₁(x)) in the variables (x₀, x₁, y₀, y₁): the non-zero
  eigenvalues are 2F₀ and 2F₁, not F₀ and F₁ (a factor 2; the ordering F₀ > F₁ on [0, 1]² and so
  every argmin the caption names are unaffected). Γ has dimension D − M = 2 with M = 2.
- The caption's L₀ = F₀(x)x₀² is a typo for F₀(x)y₀² (with x₀² the sum L₀ + L₁ would not be L and
  L₀ would not vanish on Γ). The per-example split the caption intends is L₀ = F₀y₀², L₁ = F₁y₁².
- wen2023 §4 writes L = (1/M) Σ_k L_k, and flatcheck's `Problem.examples` follows that convention
  (f = (1/n) Σ_i f_i). The caption's L = L₀ + L₁ is the *sum*; to keep L exactly as the caption
  states it, `examples` holds 2L₀ = 2F₀y₀² and 2L₁ = 2F₁y₁² (their mean is L). Stochastic SAM (7)
  normalises the ascent direction, so the factor 2 only rescales the learning rate: η on 2L_k is
  η' = 2η on the caption's L_k. `known["caption_examples"]` keeps the caption's L₀, L₁ verbatim
  (typo fixed) for a user who wants them.

Closed-form facts (exact sympy expressions in `known`): F₀, F₁, the Hessian spectrum on Γ, the
minimizers on Γ of λ₁ = 2max(F₀, F₁) (x = (0, 0), value 16: F₀ ≥ 8 everywhere with equality only at
0, where F₁ = 6), of λ_M = λ₂ = 2min(F₀, F₁) (x = (1, 1), value 2: F₁ ≥ 1 with equality only at
(1, 1), where F₀ = 15) and of Tr ∇²L = 2(F₀ + F₁) (x = (4/5, 1/7), the zero of ∇(F₀ + F₁)).

`wen_toy_curved(c)` bends the toy's y₁-valley: L_c = F₀(x)y₀² + F₁(x)(y₁ + c·y₀²)², a variant (not in the
paper) on which the angle law of Theorem 8 is tight (module docstring of `wen2023.theorem8`). L_c ≥ 0
with equality exactly on Γ = {y = 0} (F₁ ≥ 1 > 0 forces y₁ + cy₀² = 0, then F₀ ≥ 8 forces y₀ = 0), so Γ
is a manifold of global minimisers with L = 0; its Hessian on Γ is the toy's diag(0, 0, 2F₀, 2F₁) (the
bend is of third order), so Assumptions 1 and 7, the eigengap and the Riemannian flow (6) of λ₁ are the
toy's. What differs is the third derivative across v₁ = e_{y₀} in the normal space:
∂³L_c/∂y₀²∂y₁ = 4cF₁ on Γ, 0 for the toy.
"""

from __future__ import annotations

import sympy as sp
import torch

from flatcheck.problems.problem import Problem

X0, X1, Y0, Y1 = sp.symbols("x0 x1 y0 y1", real=True)
F0 = X0**2 + 6 * X1**2 + 8
F1 = 4 * (1 - X0) ** 2 + (1 - X1) ** 2 + 1

# argmin over Γ of each limiting regularizer, as (x₀, x₁) (module docstring).
ARGMIN_TOP = (sp.Integer(0), sp.Integer(0))
ARGMIN_BOTTOM = (sp.Integer(1), sp.Integer(1))
ARGMIN_TRACE = (sp.Rational(4, 5), sp.Rational(1, 7))


def wen_toy() -> Problem:
    """L(x, y) = F₀(x)y₀² + F₁(x)y₁² in the variables (x₀, x₁, y₀, y₁), with the per-example split."""

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # ∇²L has entries ∂²F_k·y_k² (|∂²F| ≤ 12), 2∂F_k·y_k (|∂F_k| ≤ 12(|x|+1)) and 2F_k
        # (F_k ≤ 6(|x|+1)² + 8); ‖∇²L‖ ≤ ‖∇²L‖_F ≤ 4·(largest entry bound) with |x|,|y| ≤ r.
        r = float(torch.linalg.vector_norm(center.double().cpu())) + radius
        entry = max(12 * r * r, 24 * (r + 1) * r, 12 * (r + 1) ** 2 + 16)
        return 4 * entry

    expr = F0 * Y0**2 + F1 * Y1**2
    return Problem(
        family="wen2023_toy",
        symbols=(X0, X1, Y0, Y1),
        expr=sp.expand(expr),
        params={},
        beta_on_ball=beta_on_ball,
        known={
            "M": 2,
            "F": (F0, F1),
            "manifold": "y0 = y1 = 0",
            "hessian_on_manifold_eigenvalues": (sp.Integer(0), sp.Integer(0), 2 * F0, 2 * F1),
            "caption_eigenvalues": (F0, F1),
            "caption_examples": (F0 * Y0**2, F1 * Y1**2),
            "argmin_top_eigenvalue": ARGMIN_TOP,
            "argmin_bottom_eigenvalue": ARGMIN_BOTTOM,
            "argmin_trace": ARGMIN_TRACE,
        },
        examples=(sp.expand(2 * F0 * Y0**2), sp.expand(2 * F1 * Y1**2)),
        monomial=True,
    )


def wen_toy_curved(c: sp.Rational = sp.Integer(1)) -> Problem:
    """L_c(x, y) = F₀(x)y₀² + F₁(x)(y₁ + c·y₀²)² in the variables (x₀, x₁, y₀, y₁) (module docstring)."""
    c = sp.Rational(c)
    return Problem(
        family="wen2023_toy_curved",
        symbols=(X0, X1, Y0, Y1),
        # Unexpanded: a user's optimizer steps on torch's evaluation of this formula, and the factored
        # form takes a third less time per step than the expanded polynomial (flatcheck's own SAM,
        # on the compiled derivatives, a few milliseconds more per ladder).
        expr=F0 * Y0**2 + F1 * (Y1 + c * Y0**2) ** 2,
        params={"c": str(c)},
        known={
            "M": 2,
            "F": (F0, F1),
            "manifold": "y0 = y1 = 0",
            "hessian_on_manifold_eigenvalues": (sp.Integer(0), sp.Integer(0), 2 * F0, 2 * F1),
            "d3L_dy0dy0dy1_on_manifold": 4 * c * F1,
        },
    )


def toy_point(x0: sp.Rational, x1: sp.Rational) -> list[sp.Rational]:
    """The exact point (x₀, x₁, 0, 0) of Γ = {y = 0}."""
    return [sp.Rational(x0), sp.Rational(x1), sp.Integer(0), sp.Integer(0)]
