r"""wen2023.theorem14 — Theorem 14, Appendix B.1 (Table 1, row 3) (Wen, Ma, Li 2023).

    "Theorem 14. Average-direction sharpness R^avg_ρ satisfies Assumption 2 and admits Tr(∇²L(·))/(2D) as
     a good limiting regularizer on Γ."
    with R^avg_ρ(x) = E_{g~N(0,I)} L(x + ρg/‖g‖₂) − L(x) (Table 1, §1) and, R^avg being continuous,
    S(x) = lim_{ρ→0} R^avg_ρ(x)/ρ² (remark after Theorem 14).

Symbolic side (exact, no sampling): g/‖g‖ ~ Unif(S^{D−1}), so on a polynomial L and an exact point x ∈ Γ
R^avg_ρ(x) is a polynomial in ρ computed with the sphere moment formulas; its ρ⁰ and ρ¹ coefficients must
vanish and its ρ² coefficient must equal κ·Tr(∇²L(x))/D exactly (rational arithmetic), κ the coefficient
derive() computes from the Taylor coefficient and the sphere's second moment (½; the printed ½ must equal it).
Numeric side: the Monte Carlo estimator of R^avg_ρ(x)/ρ² (antithetic pairs ±s, batched draws; simultaneous
normal intervals over the ρ's at the instance's error rate) must contain the exact value at every
ρ = 2^{-1} … 2^{-k}, and the exact R^avg_ρ/ρ² on that sequence must pass the limit rule of
`flatcheck.stats.limits` against the stated S.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

from flatcheck.numeric.sharpness import RHO, average_sharpness_exact, average_sharpness_samples, ratio_floor
from flatcheck.problems.manifolds import ManifoldInstance
from flatcheck.stats import mean_interval
from flatcheck.stats.limits import fit_limit, joint_verdict
from flatcheck.symbolic import expectation
from flatcheck.verify import Constant, Evidence, constant

from ._derived import mismatch, taylor_coefficients
from ._sharpness import sharpness_claim

# The stated S as a multiple of itself: a mutant ×2 claims a limit twice the stated one.
CONSTANTS = (Constant("scale", 1.0, "S(x) = Tr(∇²L)/(2D), ×1", "exact", text="the limit of R^avg_ρ/ρ²"),)


PRINTED = sp.Rational(1, 2)  # S = Tr/(2D) = ½·Tr/D


def derive() -> dict[str, sp.Expr]:
    """R^avg_ρ(x)/ρ² → κ·Tr(∇²L(x))/D at x ∈ Γ: the Taylor coefficient c₂ of ρ²sᵀHs (½) times
    E_s[sᵀHs]·D/Tr H over s ~ Unif(S^{D−1}) for a generic symmetric H, D = 2, 3, 4 (each 1): κ = ½."""
    c2 = taylor_coefficients()[1]
    ratios = set()
    for dim in (2, 3, 4):
        s_ = sp.symbols(f"s1:{dim + 1}", real=True)
        h = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"h{min(i, j)}{max(i, j)}"))
        form = (sp.Matrix(s_).T * h * sp.Matrix(s_))[0]
        ratios.add(sp.simplify(expectation(form, s_, "sphere") * dim / h.trace()))
    (moment,) = ratios
    return {"taylor_c2": c2, "sphere_moment_times_D": moment, "coefficient": c2 * moment}


def predicted(inst: ManifoldInstance) -> sp.Expr:
    """S(x) = κ·Tr(∇²L(x))/D, κ derived (½), exactly."""
    return derive()["coefficient"] * inst.hessian().trace() / inst.problem.d


def make_check(limit: Callable[[ManifoldInstance], sp.Expr] = predicted, sampler: Callable = average_sharpness_samples):
    def check(inst: ManifoldInstance, impl: object, budget) -> Evidence:
        if wrong := mismatch(PRINTED, derive()["coefficient"], "S(x) = Tr(∇²L)/(2D)"):
            return wrong
        prob = inst.problem
        exact = sp.Poly(average_sharpness_exact(prob.expr, prob.symbols, inst.point), RHO)
        low = [exact.coeff_monomial(RHO**k) for k in range(3)]
        target = sp.nsimplify(constant(budget, CONSTANTS, "scale")) * limit(inst)
        symbolic_ok = low[0] == 0 and low[1] == 0 and sp.simplify(low[2] - target) == 0
        rhos = [2.0**-k for k in range(1, budget.scaled(7, 9, 11))]
        t = torch.tensor(rhos, dtype=torch.float64)
        exact_ratio = torch.tensor([float(exact.eval(r)) / r**2 for r in rhos], dtype=torch.float64)
        gen = torch.Generator().manual_seed(budget.seed)
        lp = inst.local()
        pairs = sampler(lp, torch.zeros(lp.d, dtype=torch.float64), t, budget.mc_samples, gen) / t**2
        est, half = mean_interval(pairs, budget.alpha)
        floor = ratio_floor([lp], rhos[-1])
        tol = half + floor
        err = (est - exact_ratio).abs()
        mc_ok = bool((err <= tol).all())
        fit = fit_limit(rhos, exact_ratio.tolist(), float(target), floor)
        values = {
            **fit.summary(),
            "exact_R_avg": str(exact.as_expr()),
            "rho2_coefficient": str(low[2]),
            "predicted_S": str(target),
            "mc_ratio": est.tolist(),
            "mc_halfwidth": half.tolist(),
            "draws": budget.mc_samples,
        }
        notes = [
            n
            for ok, n in (
                (symbolic_ok, "ρ² coefficient of exact R^avg ≠ S"),
                (mc_ok, "Monte Carlo R^avg/ρ² misses the exact value"),
            )
            if not ok
        ]
        verdict = joint_verdict([symbolic_ok, mc_ok, fit.verdict])
        margin = min(float(((tol - err) / tol).min()), fit.margin)
        return Evidence(verdict, values, margin=margin, note="; ".join(notes) or fit.note, plot=fit.plot())

    return check


CLAIM = sharpness_claim(
    id="wen2023.theorem14",
    ref="Theorem 14, Appendix B.1; Table 1; Definition 3",
    statement=r"R^{\mathrm{avg}}_\rho(x)=\mathbb E_{g\sim N(0,I)}L\big(x+\rho\tfrac{g}{\|g\|_2}\big)-L(x)"
    r"\ \text{admits}\ "
    r"S(x)=\mathrm{Tr}(\nabla^2L(x))/(2D)=\lim_{\rho\to0}R^{\mathrm{avg}}_\rho(x)/\rho^2\ \text{on}\ \Gamma",
    summary="Average-direction sharpness R^avg_ρ/ρ² tends to Tr(∇²L)/(2D) on Γ (exact moments and Monte Carlo).",
    check=make_check(),
    constants=CONSTANTS,
    derive=derive,
)
