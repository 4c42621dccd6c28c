r"""wen2023.theorem9_10 — Theorems 9 and 10, §4.1 (Wen, Ma, Li 2023).

    "Theorem 9. Stochastic worst-direction sharpness E_k[R^max_{k,ρ}] satisfies Assumption 2 and admits
     Tr(∇²L(·))/2 as a good limiting regularizer on Γ.
     Theorem 10. Stochastic ascent-direction sharpness E_k[R^asc_{k,ρ}] satisfies Assumption 2 and admits
     Tr(∇²L(·))/2 as a good limiting regularizer on Γ."
    Setting (§4): L_k(x) = ℓ(f_k(x), y_k), L = Σ_{k=1}^M L_k/M; E_k[R_{k,ρ}] = E_k[L_{k,ρ}] − L with k uniform
    on [M]; the limiting regularizer is Definition 3's S(x) = lim_ρ lim_r inf_{‖x′−x‖≤r} R_ρ(x′)/ρ².

Instances: the per-example families of `flatcheck.problems.manifolds` (Setting-1 losses ℓ(f_k, y_k) and the
weighted squares M·F_k y_k²) at an exact point x ∈ Γ; Assumption 1 (rank ∇²L = M) and the Setting's
rank-one per-example Hessians (rank ∇²L_k(x) = 1, Assumption 49) are checked exactly.
Symbolic side: Tr ∇²L(x) exactly; derive() computes the coefficient κ of S = κTr∇²L for rank-one
per-example Hessians (Taylor coefficient ½ times λ₁(H_k) = tr H_k), the printed ½ must equal it, and the
prediction is κTr∇²L(x). Numeric side, both notions on ρ = 2^{-2} … 2^{-k}:
- worst: (1/M) Σ_k R^max_{k,ρ}(x), each term by the certified inner maximisation (R^max_k is continuous,
  so S(x) = lim R(x)/ρ², as for Theorem 12);
- ascent: inf over ‖x′−x‖ ≤ r = ρ³ of (1/M) Σ_k R^asc_{k,ρ}(x′) by projected descent (as for Theorem 13;
  each R^asc_k is ∞ on its own Γ_k ⊇ Γ).
Each ratio must pass the limit rule of `flatcheck.stats.limits` against Tr(∇²L(x))/2.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

from flatcheck.numeric.sharpness import (
    ascent_sharpness_inf,
    example_expansions,
    ratio_floor,
    stochastic_ascent_sharpness,
    stochastic_worst_sharpness,
)
from flatcheck.problems.manifolds import ManifoldInstance, rank_condition, stochastic_instances
from flatcheck.stats.limits import fit_limit, joint_verdict
from flatcheck.verify import Assumption, Claim, Constant, Evidence, constant

from ._derived import mismatch, taylor_coefficients

CONSTANTS = (Constant("scale", 1.0, "S(x) = Tr(∇²L)/2, ×1", "exact", text="the limit of E_k R_k/ρ²"),)


PRINTED = sp.Rational(1, 2)  # S = Tr/2


def derive() -> dict[str, sp.Expr]:
    """E_k R_{k,ρ}/ρ² → κ·Tr(∇²L) at x ∈ Γ for rank-one per-example Hessians H_k = a_k w_kw_kᵀ (a_k > 0):
    each example's worst direction gives c₂λ₁(H_k) (c₂ = ½ the Taylor coefficient), λ₁(H_k) its one
    non-zero eigenvalue (from sympy, M = 2 examples in D = 2), and (1/M)Σc₂λ₁(H_k) / Tr((1/M)ΣH_k) = κ = ½."""
    c2 = taylor_coefficients()[1]
    a = sp.symbols("a1:3", positive=True)
    w = [sp.Matrix(sp.symbols(f"w{k}_1:3", real=True)) for k in (1, 2)]
    hs = [a_k * w_k * w_k.T for a_k, w_k in zip(a, w)]
    tops = [sp.Add(*[e for e in h.eigenvals() if e != 0]) for h in hs]
    mean_h = (hs[0] + hs[1]) / 2
    return {"taylor_c2": c2, "top_eigenvalues": tops, "coefficient": sp.simplify(c2 * sum(tops) / 2 / mean_h.trace())}


def predicted(inst: ManifoldInstance) -> float:
    """S(x) = κ·Tr(∇²L(x)), κ derived (½)."""
    return float(derive()["coefficient"]) * float(inst.hessian().trace())


def rank_one_examples(inst: ManifoldInstance) -> bool:
    """rank ∇²L_k(x) = 1 for every example k (Setting of §4 / Assumption 49)."""
    return all(h.rank() == 1 for h in inst.example_hessians())


def make_check(
    limit: Callable[[ManifoldInstance], float] = predicted,
    worst: Callable = stochastic_worst_sharpness,
    ascent: Callable = ascent_sharpness_inf,
):
    def check(inst: ManifoldInstance, impl: object, budget) -> Evidence:
        if wrong := mismatch(PRINTED, derive()["coefficient"], "S(x) = Tr(∇²L)/2"):
            return wrong
        prob = inst.problem
        rhos = [2.0**-k for k in range(2, budget.scaled(8, 9, 10))]
        t = torch.tensor(rhos, dtype=torch.float64)
        gen = torch.Generator().manual_seed(budget.seed)
        lps = example_expansions(prob, inst.point)
        target = constant(budget, CONSTANTS, "scale") * limit(inst)
        floor = ratio_floor(lps, rhos[-1], target)
        fit_max = fit_limit(rhos, (worst(lps, t, gen).value / t**2).tolist(), target, floor)
        seeds = torch.linalg.eigh(inst.local().hessian_tensor()).eigenvectors.T
        zero = torch.zeros(prob.d, dtype=torch.float64)
        best, _ = ascent(stochastic_ascent_sharpness(lps), zero, t, t**3, gen, seeds=seeds)
        fit_asc = fit_limit(rhos, (best / t**2).tolist(), target, floor)
        values = {
            "theorem9_worst": fit_max.summary(),
            "theorem10_ascent": fit_asc.summary(),
            "predicted_limit": target,
            "examples": prob.n_examples,
        }
        failed = [f"Theorem {n}: {f.note}" for n, f in ((9, fit_max), (10, fit_asc)) if f.verdict is not True]
        plot = {
            "type": "lines",
            "x": rhos,
            "series": {"E_k R^max_k/rho^2": fit_max.values, "inf E_k R^asc_k/rho^2": fit_asc.values},
            "reference": {"Tr/2": target},
            "xlabel": "rho",
        }
        verdict = joint_verdict([fit_max.verdict, fit_asc.verdict])
        return Evidence(verdict, values, margin=min(fit_max.margin, fit_asc.margin), note="; ".join(failed), plot=plot)

    return check


CLAIM = Claim(
    id="wen2023.theorem9_10",
    paper="wen2023",
    ref="Theorems 9 and 10, §4.1; proofs in Appendix D.3",
    kind="expansion",
    statement=r"\mathbb E_k[R^{\max}_{k,\rho}]\ \text{and}\ \mathbb E_k[R^{\mathrm{asc}}_{k,\rho}]\ \text{both admit}\ "
    r"\mathrm{Tr}(\nabla^2L(\cdot))/2\ \text{as limiting regularizer on}\ \Gamma,\ L=\tfrac1M\sum_kL_k",
    summary="Stochastic worst- and ascent-direction sharpness over ρ² both tend to Tr(∇²L)/2 on Γ.",
    faithful="exact",
    instances=lambda budget: stochastic_instances(),
    check=make_check(),
    derive=derive,
    assumptions=(
        Assumption("assumption1", rank_condition, "x ∈ Γ: L = 0, ∇L = 0, rank ∇²L(x) = M"),
        Assumption("rank_one_examples", rank_one_examples, "rank ∇²L_k(x) = 1 for every k (Setting, §4)"),
    ),
    describe=ManifoldInstance.describe,
    constants=CONSTANTS,
)
