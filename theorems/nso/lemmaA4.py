r"""nso.lemmaA4 — Lemma A.4, Appendix A.1 (Taylor expansion of the perturbed loss).

    "Suppose each parameter is perturbed by an independent noise drawn from N(0, σ²). Let
     ℓ_Q(f_W(x), y) be the perturbed loss with noise perturbation injection vector on W. There
     exist some fixed value C₁ that do not grow with n and 1/δ such that
         |ℓ_Q(f_W(x), y) − ℓ(f_W(x), y) − ½σ²Tr[∇²[ℓ(f_W(x), y)]]| ≤ C₁σ³."
    (ℓ_Q = E_U ℓ(f_{W+U}(x), y), U ~ N(0, σ²Id); the setting of Theorem 2.2: ℓ twice
     differentiable with a Lipschitz Hessian.)

"There exists C₁" for fixed (ℓ, W) is the statement R(σ) = O(σ³) as σ → 0; it is checked by the
order of R. Symbolic side: for polynomial ℓ, ℓ_Q is exact (Gaussian moments) and R is a
polynomial in σ² whose lowest power of σ must be ≥ 3. Numeric side: for per-example losses of
small networks (a tanh unit with squared loss, logistic loss), Monte Carlo at σ² = 4^{-j}/d
(antithetic pairs: U is symmetric), decided by `flatcheck.stats.remainder_order_mc`: falsified when the
upper confidence end of the local order in σ is below 3.
"""

from __future__ import annotations

import sympy as sp

from flatcheck.problems.nso_families import SmoothingInstance, smoothing_instances
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._smoothing import coefficient_mismatch, hessian_term, instance_order

CLAIMED_SIGMA = 3  # order in σ; Σ = σ²I = s·Σ₀ makes it 3/2 in s


def derive() -> dict[str, sp.Expr]:
    """ℓ_Q − ℓ for a generic quartic ℓ in one variable, in the variance s = σ²: the coefficient of
    σ²ℓ'' (½, what the check predicts with) and the remainder after it (σ⁴ its lowest power)."""
    return hessian_term(two_point=False)


CONSTANTS = (Constant("coefficient", 0.5, "½ in the trace term", "exact", text="the trace term's coefficient"),)


def make_check(printed: sp.Rational):
    """The check with the trace term's coefficient (the paper: ½)."""

    def check(inst: SmoothingInstance, impl, budget) -> Evidence:
        coefficient, derived = (
            sp.nsimplify(constant(budget, {"coefficient": printed}, "coefficient")),
            derive()["coefficient"],
        )
        if wrong := coefficient_mismatch(coefficient, derived, "the trace term ½σ²Tr∇²ℓ"):
            return Evidence(**wrong)
        fit, values, plot = instance_order(
            inst, coefficient=derived, claimed=CLAIMED_SIGMA / 2, two_point=False, budget=budget
        )
        order_sigma = None if fit.slope is None else 2 * fit.slope
        values["order_in_sigma"] = order_sigma
        values["sigma_levels"] = [(s / inst.problem.d) ** 0.5 for s in values["levels_s"]]
        margin = None if order_sigma is None else order_sigma - CLAIMED_SIGMA
        note = fit.note if fit.reaches is not False else f"remainder is not O(σ³): {fit.note} (order in s)"
        return Evidence(fit.reaches if fit.decided else None, values, margin=margin, note=note, plot=plot)

    return check


CLAIM = Claim(
    id="nso.lemmaA4",
    paper="nso",
    ref="Lemma A.4, Appendix A.1",
    kind="bound",
    statement=r"\big|\ell_Q(f_W(x),y)-\ell(f_W(x),y)-\tfrac12\sigma^2\mathrm{Tr}[\nabla^2\ell(f_W(x),y)]\big|"
    r"\le C_1\sigma^3",
    summary="The Gaussian-perturbed loss exceeds the loss by ½σ²Tr∇²ℓ up to C₁σ³.",
    faithful="exact",
    instances=lambda budget: smoothing_instances(isotropic=True),
    check=make_check(sp.Rational(1, 2)),
    derive=derive,
    describe=SmoothingInstance.describe,
    constants=CONSTANTS,
)
