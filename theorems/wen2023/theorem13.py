r"""wen2023.theorem13 — Theorem 13, Appendix B.1 (Table 1, row 2) (Wen, Ma, Li 2023).

    "Theorem 13. Ascent-direction sharpness R^asc_ρ satisfies Assumption 2 and admits λ_M(∇²L(·))/2 as a
     good limiting regularizer on Γ."
    with R^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖₂) − L(x) (2), R^asc_ρ = ∞ where ∇L = 0, λ_M the smallest
    non-zero eigenvalue (Table 1) and S(x) = lim_{ρ→0} lim_{r→0} inf_{‖x′−x‖≤r} R_ρ(x′)/ρ² (Definition 3).

R^asc_ρ is ∞ on Γ, so the inner infimum over points approaching x is essential (Appendix B.1):
`flatcheck.numeric.sharpness.ascent_sharpness_inf` minimises R^asc_ρ over the ball B(x, r) by projected
descent from random starts, with r = ρ³ ≪ ρ standing in for the inner limit r → 0 (moving x′ by r
changes R^asc_ρ(x′)/ρ² by O(r/ρ) = O(ρ²), far below the residual the limit rule looks at).
Instances: the families of `flatcheck.problems.manifolds` at an exact point of Γ (Assumption 1 checked
exactly). Symbolic side: ∇²L(x) exactly; λ_M is its M-th largest eigenvalue. Decision: the limit rule of
`flatcheck.stats.limits` applied to inf R^asc_ρ/ρ² on ρ = 2^{-2}, 2^{-5/2}, … 2^{-k}; its "does not shrink" falsifies
only when the offset lim q − S, fitted with its interval at the instance's α, excludes 0 (`_sharpness`:
the inner inf misses the infimum by up to ~5e-3 of S, unevenly in ρ).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from flatcheck.numeric.sharpness import ascent_sharpness_inf, local_ascent_sharpness
from flatcheck.problems.manifolds import ManifoldInstance
from flatcheck.verify import Constant, Evidence, constant

from ._sharpness import limit_evidence, sharpness_claim

# The stated S as a multiple of itself: a mutant ×2 claims a limit twice the stated one.
CONSTANTS = (Constant("scale", 1.0, "S(x) = λ_M(∇²L)/2, ×1", "exact", text="the limit of R^asc_ρ/ρ²"),)


def predicted(inst: ManifoldInstance) -> float:
    """S(x) = λ_M(∇²L(x))/2, the smallest non-zero eigenvalue (rank ∇²L = M)."""
    return float(inst.spectrum()[inst.m - 1]) / 2


def make_check(limit: Callable[[ManifoldInstance], float] = predicted, estimator: Callable = ascent_sharpness_inf):
    def check(inst: ManifoldInstance, impl: object, budget) -> Evidence:
        # Ratio √2: the limit rule reads every other ρ (ratio 2), the offset's line all of them.
        rhos = [2.0 ** (-k / 2) for k in range(4, 2 * budget.scaled(8, 9, 10) - 1)]
        t = torch.tensor(rhos, dtype=torch.float64)
        lp = inst.local()
        gen = torch.Generator().manual_seed(budget.seed)
        seeds = torch.linalg.eigh(lp.hessian_tensor()).eigenvectors.T
        zero = torch.zeros(lp.d, dtype=torch.float64)
        best, _ = estimator(local_ascent_sharpness(lp), zero, t, t**3, gen, seeds=seeds)
        target = constant(budget, CONSTANTS, "scale") * limit(inst)
        return limit_evidence(rhos, (best / t**2).tolist(), target, lp, budget.alpha, 2, inner_radius="r = rho^3")

    return check


CLAIM = sharpness_claim(
    id="wen2023.theorem13",
    ref="Theorem 13, Appendix B.1; Table 1; Definition 3",
    statement=r"R^{\mathrm{asc}}_\rho(x)=L\big(x+\rho\tfrac{\nabla L(x)}{\|\nabla L(x)\|_2}\big)-L(x)\ \text{admits}\ "
    r"S(x)=\lambda_M(\nabla^2L(x))/2=\lim_{\rho\to0}\lim_{r\to0}\inf_{\|x'-x\|_2\le r}R^{\mathrm{asc}}_\rho(x')/\rho^2",
    summary="Ascent-direction sharpness, inf over nearby points, over ρ² tends to λ_M(∇²L)/2 on Γ.",
    check=make_check(),
    constants=CONSTANTS,
)
