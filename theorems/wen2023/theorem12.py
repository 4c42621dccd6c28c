r"""wen2023.theorem12 — Theorem 12, Appendix B.1 (Table 1, row 1) (Wen, Ma, Li 2023).

    "Theorem 12. Worst-direction sharpness R^max_ρ satisfies Assumption 2 and admits λ₁(∇²L(·))/2 as a
     good limiting regularizer on Γ."
    with R^max_ρ(x) = max_{‖v‖₂≤1} L(x + ρv) − L(x) (1) and, for R^max continuous at x ∈ Γ,
    S(x) = lim_{ρ→0} R_ρ(x)/ρ² (Definition 3 and the remark after Theorem 14).

Instances: the families of `flatcheck.problems.manifolds` (weighted squares Σ F_k(x)y_k², Setting-1 losses,
PSD quadratics with a kernel) at an exact point x of Γ, Assumption 1 checked exactly (L = 0, ∇L = 0,
rank ∇²L = M). Symbolic side: ∇²L(x) exactly (sympy, rational); its top eigenvalue λ₁; derive() computes
the coefficient κ of S = κλ₁ (Taylor coefficient ½ times the maximum of vᵀHv on the sphere by its Lagrange
conditions), the printed ½ must equal it, and the prediction is κλ₁.
Numeric side: R^max_ρ(x) by the certified inner maximisation of `flatcheck.numeric.sharpness`
(feasible value from projected ascent; upper bound from the exact Taylor expansion; exact for quadratics)
on ρ = 2^{-2} … 2^{-k}; the limit of R_ρ/ρ² is decided against λ₁/2 by the rule of
`flatcheck.stats.limits` (the residual must shrink at least like ρ^{1/2}; it is O(ρ) here).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

from flatcheck.numeric.sharpness import worst_sharpness
from flatcheck.problems.manifolds import ManifoldInstance
from flatcheck.verify import Constant, Evidence, constant

from ._derived import mismatch, taylor_coefficients
from ._sharpness import limit_evidence, sharpness_claim

# The stated S as a multiple of itself: a mutant ×2 claims a limit twice the stated one.
CONSTANTS = (Constant("scale", 1.0, "S(x) = λ₁(∇²L)/2, ×1", "exact", text="the limit of R^max_ρ/ρ²"),)


PRINTED = sp.Rational(1, 2)  # S = λ₁/2


def derive() -> dict[str, sp.Expr]:
    """R^max_ρ(x)/ρ² → κ·λ₁(∇²L(x)) at x ∈ Γ (∇L = 0): the Taylor coefficient c₂ of ρ²vᵀ∇²Lv (½), then the
    maximum of c₂vᵀHv on ‖v‖ = 1 by its Lagrange conditions, H = diag(λ₁, λ₂), λ₁ = λ₂ + δ, δ > 0:
    stationary values c₂λ₁, c₂λ₂, the largest c₂λ₁, so κ = c₂ = ½."""
    c2 = taylor_coefficients()[1]
    lam2, delta, mu = sp.symbols("lambda2 delta mu", positive=True)
    v = sp.symbols("v1:3", real=True)
    lam1 = lam2 + delta
    quadratic = c2 * (lam1 * v[0] ** 2 + lam2 * v[1] ** 2)
    lagrangian = quadratic - mu * (v[0] ** 2 + v[1] ** 2 - 1)
    critical = sp.solve([sp.diff(lagrangian, w) for w in v] + [v[0] ** 2 + v[1] ** 2 - 1], [*v, mu], dict=True)
    stationary = {sp.simplify(quadratic.subs(c)) for c in critical}
    (top,) = [a for a in stationary if all(sp.simplify(a - b).is_nonnegative for b in stationary)]
    return {"taylor_c2": c2, "stationary_values": sp.FiniteSet(*stationary), "coefficient": sp.simplify(top / lam1)}


def predicted(inst: ManifoldInstance) -> float:
    """S(x) = κ·λ₁(∇²L(x)), κ derived (½)."""
    return float(derive()["coefficient"]) * float(inst.spectrum()[0])


def make_check(limit: Callable[[ManifoldInstance], float] = predicted, estimator: Callable = worst_sharpness):
    def check(inst: ManifoldInstance, impl: object, budget) -> Evidence:
        if wrong := mismatch(PRINTED, derive()["coefficient"], "S(x) = λ₁/2"):
            return wrong
        rhos = [2.0**-k for k in range(2, budget.scaled(9, 11, 13))]
        gen = torch.Generator().manual_seed(budget.seed)
        lp = inst.local()
        ws = estimator(lp, torch.tensor(rhos, dtype=torch.float64), gen)
        ratio = (ws.value / torch.tensor(rhos, dtype=torch.float64) ** 2).tolist()
        target = constant(budget, CONSTANTS, "scale") * limit(inst)
        upper = [u / r**2 for u, r in zip(ws.upper.tolist(), rhos)]
        return limit_evidence(rhos, ratio, target, lp, budget.alpha, certified_upper_over_rho2=upper)

    return check


CLAIM = sharpness_claim(
    id="wen2023.theorem12",
    ref="Theorem 12, Appendix B.1; Table 1; Definition 3",
    statement=r"R^{\max}_\rho(x)=\max_{\|v\|_2\le1}L(x+\rho v)-L(x)\ \text{admits}\ "
    r"S(x)=\lambda_1(\nabla^2L(x))/2=\lim_{\rho\to0}R^{\max}_\rho(x)/\rho^2\ \text{on}\ \Gamma",
    summary="Worst-direction sharpness R^max_ρ/ρ² tends to λ₁(∇²L)/2 on the manifold of minimizers.",
    check=make_check(),
    constants=CONSTANTS,
    derive=derive,
)
