r"""ahn2024.lemma8 — Lemma 8, Appendix A.1 (proof D.4): the loss gap stays O(η‖v‖²).

    "Lemma 8. Let Assumption 1 hold and f have β-Lipschitz gradients. For a vector v satisfying
     v ⊥ ∇f(x) and ‖v‖ = O(1), consider the update x⁺ − x = −η·(∇f(x) + v). For sufficiently small
     η > 0, we have the following: if f(x) − f(Φ(x)) ≤ (2β/α)η‖v‖², then
     f(x⁺) − f(Φ(x⁺)) ≤ (2β/α)η‖v‖² as well."

Checked with v the implementation's own RSP perturbation (read back from its steps, v = (x − x⁺)/η
− ∇f(x)) on diagonal networks (Φ in closed form) at x = x* + s·n near X*: every draw whose premise
holds must satisfy the conclusion (ties within round-off hold). β: the family's certified bound on
a ball holding x, every x⁺ and their images under Φ. α: the PL constant of Assumption 1(c) on the
sampled neighbourhood — the smallest ‖∇f‖²/(2(f − f(Φ))) over x, the x⁺ and points on the segments
to their Φ (the normal segments the flow follows near X*). "Sufficiently small η": η = c/β with
c ≤ 2⁻⁴; ρ ≤ ¼.

Power: the constant 2 sits in the premise and the conclusion, so a smaller one is not simply a
stronger statement. D.4's argument (Lemma 1, then PL: ‖∇f‖² ≥ 2α(f − f(Φ))) gives
f(x⁺) − f(Φ(x⁺)) ≤ (1 − αη)(f(x) − f(Φ(x))) + ½βη²‖v‖², which keeps the set invariant for every
constant c with c·β/α ≥ β/(2α), i.e. c ≥ ½. The mutant with 0.5 for 2 (declared: ÷4) is therefore
itself a theorem, and no instance can falsify it; its survival and tightness (lhs/rhs of the
tightest draw) measure how loose the printed 2 is, not a gap of the check.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.impl.rsp_perturbations import perturbations
from flatcheck.numeric.flatness import pl_constant
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import normal_direction, sharp_points
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (Constant("c", 2.0, "2 in (2β/α)η‖v‖²", "smaller", step=4.0, text="premise and conclusion"),)


def make_check(printed: float):
    """The check with the paper's (2β/α) replaced by c·β/α (the paper: c = 2)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        c_bound = constant(budget, {"c": printed}, "c")
        prob = inst.problem
        phi = prob.known["phi"]
        star = phi(inst.x_tensor()[None])
        rho, c, s = inst.scalars["rho"], inst.scalars["c"], inst.scalars["s"]
        x = (star + s * rho * normal_direction(prob, star))[0]
        beta = prob.beta_on_ball(x, 2 * rho + s * rho + 1.0)
        lr = c / beta
        n = budget.draws(impl, cap=1024)
        v = perturbations(impl, prob, x, {"lr": lr, "rho": rho}, n, budget.seed)
        xs = x.expand(n, -1)
        x_next = xs - lr * (prob.grad(xs) + v)
        lam = torch.linspace(0, 1, 5, dtype=torch.float64)[:, None, None]
        pts = torch.cat([xs, x_next])
        seg = (pts + lam * (phi(pts) - pts)).reshape(-1, prob.d)[: -n * 2]  # drop the exact minimizers
        alpha = float(pl_constant(prob, seg, prob.f(phi(seg))))
        gap = float(prob.f(x[None]) - prob.f(phi(x[None])))
        gap_next = prob.f(x_next) - prob.f(phi(x_next))
        bound = c_bound * beta / alpha * lr * (v * v).sum(-1)
        premise = gap <= bound
        if not bool(premise.any()):
            return Evidence(None, out_of_scope="no draw satisfies the premise f(x) − f(Φ(x)) ≤ (2β/α)η‖v‖²")
        eps = torch.finfo(torch.float64).eps
        tol = 1e3 * eps * (1 + float(prob.f(xs).abs().max()))
        slack = torch.where(premise, bound - gap_next, torch.full_like(bound, float("inf")))
        ratio = torch.where(premise, gap_next / bound.clamp_min(1e-300), torch.full_like(bound, -float("inf")))
        # The worst violation if there is one, else the tightest draw.
        i = int(torch.argmin(slack)) if bool((slack < -tol).any()) else int(torch.argmax(ratio))
        ev = Evidence.tight_bound(
            float(gap_next[i]),
            float(bound[i]),
            tol,
            alpha=alpha,
            beta=beta,
            eta=lr,
            rho=rho,
            gap_before=gap,
            draws_with_premise=int(premise.sum()),
            draws=n,
        )
        if not ev.holds:
            ev.note = f"f(x⁺) − f(Φ(x⁺)) = {float(gap_next[i]):.4g} > (2β/α)η‖v‖² = {float(bound[i]):.4g}"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.lemma8",
    paper="ahn2024",
    ref="Lemma 8, Appendix A.1 (proof: D.4)",
    kind="bound",
    statement=r"f(x)-f(\Phi(x))\le\tfrac{2\beta}{\alpha}\eta\|v\|^2\Rightarrow f(x^+)-f(\Phi(x^+))\le"
    r"\tfrac{2\beta}{\alpha}\eta\|v\|^2",
    summary="A perturbed step keeps the loss gap within (2β/α)η‖v‖² once it is there.",
    faithful=("restricted", "diagonal networks only: the family where Φ is in closed form"),
    instances=lambda budget: st.builds(
        lambda inst, rho, c, s: PointInstance(inst.problem, inst.x, scalars={"rho": rho, "c": c, "s": s}),
        sharp_points(),
        st.sampled_from([0.25, 0.0625]),
        st.sampled_from([2.0**-4, 2.0**-6, 2.0**-8]),
        st.sampled_from([2.0**-k for k in range(2, 7)]),
    ),
    check=make_check(2.0),
    algorithm="rsp",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
