r"""dexter2024.lemma4_1 — sharp stability conditions of linearized SGD, Lemma 4.1, §4.

    "Lemma 4.1. Let Ĵ_i be independent Jacobians of SGD dynamics described in Definition 1.
     (i) If λ₁(H) > 2/η or lim_{k→∞} (η²/(nB) − η²/n²)^k Σ_{y₁..y_k=1}^n ‖H_{y_k}⋯H_{y₁}‖_F² = ∞,
         then lim_{k→∞} E‖Ĵ_k⋯Ĵ₁‖_F² = ∞.
     (ii) If, for some ε ∈ (0, 1), ε/η < λ_i(H) < (2 − ε)/η for all i ∈ [d] and
         lim_{k→∞} (1/ε^k)(η²/(nB) − η²/n²)^k Σ_{y₁..y_k=1}^n ‖H_{y_k}⋯H_{y₁}‖_F² = 0,
         then lim_{k→∞} E‖Ĵ_k⋯Ĵ₁‖_F² = 0."

Every limit is decided exactly (`flatcheck.stats.stability`): with c = η²/(nB) − η²/n² and the
positive self-adjoint maps 𝓣(M) = Σ_iH_iMH_i and 𝓛(M) = E[ĴMĴ],
Σ_y‖H_{y_k}⋯H_{y₁}‖_F² = tr𝓣^k(I) and E‖Ĵ_k⋯Ĵ₁‖_F² = tr𝓛^k(I), so the sum condition of (i) is
c·ρ(𝓣) > 1, that of (ii) is c·ρ(𝓣) < ε (the best ε is any in (cρ(𝓣), min(1, ηλ_d(H), 2 − ηλ₁(H)))),
and the conclusions are ρ(𝓛) > 1 and ρ(𝓛) < 1. Eigenvalues are symmetric and carry a round-off
bound; cases within it of a boundary are undecided. η is drawn on both sides of the
boundaries (ηλ₁(H) from 0.05 to 3 times 1), on diagonal and non-diagonal families; each family is
decided on every B ∈ [n] at every such η, the tightest case standing for it.
The implementation's Ĵ must follow Definition 1 (E[Ĵ], E[Ĵ²], error ≤ α).
Declared constants: the 2 of (i)'s λ₁(H) > 2/η (smaller is stronger) and the 2 of (ii)'s
λ_i(H) < (2 − ε)/η (larger is stronger); moved, they enter the conditions and the room for ε.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.problems.dexter_families import (
    HessianFamily,
    LinearSGDInstance,
    diagonal_families,
    psd_families,
    rational_at_least,
)
from flatcheck.stats.stability import moment_operator, operator_radius, path_operator
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._definition1 import FAILED_NOTE, definition1_check

CONSTANTS = (
    Constant("two_i", 2.0, "2 in λ₁(H) > 2/η, (i)", "smaller", text="the divergence condition"),
    Constant("two_ii", 2.0, "2 in λ_i(H) < (2 − ε)/η, (ii)", "larger", text="the convergence condition"),
)


# ηλ₁(H): both sides of both boundaries, and just inside 2 where (ii) is tight (its room 2 − ηλ₁ → 0)
SCALES = (0.05, 0.3, 0.7, 0.95, 1.05, 1.5, 1.9, 1.99, 2.1, 3.0)


@st.composite
def instances(draw) -> LinearSGDInstance:
    fam = draw(diagonal_families(max_n=6, max_d=3) | psd_families(max_n=5, max_d=3))
    batch = draw(st.integers(1, fam.n))
    scale = draw(st.sampled_from(SCALES))
    return LinearSGDInstance(fam, rational_at_least(scale / fam.lambda1()), batch)


def sweep(fam: HessianFamily) -> list[LinearSGDInstance]:
    """Every B ∈ [n] at every ηλ₁(H) of SCALES: the family's cases, the tightest standing for it."""
    return [
        LinearSGDInstance(fam, rational_at_least(scale / fam.lambda1()), b)
        for b in range(1, fam.n + 1)
        for scale in SCALES
    ]


def parts(inst: LinearSGDInstance, two_i: float = 2.0, two_ii: float = 2.0) -> dict:
    """The two conditions' quantities, with (i)'s 2/η as two_i/η and (ii)'s (2 − ε)/η as (two_ii − ε)/η."""
    fam, lr, b, n = inst.fam, float(inst.lr), inst.batch, inst.fam.n
    c = lr**2 / (n * b) - lr**2 / n**2
    rho_t, tol_t = operator_radius(path_operator(fam.hs))
    q, q_tol = c * rho_t, abs(c) * tol_t + 1e-15
    lam = torch.linalg.eigvalsh(fam.mean)
    lam_tol = 64 * fam.d * torch.finfo(torch.float64).eps * float(lam.abs().max())
    gd = float(lam[-1]) - two_i / lr
    eps_room = min(1.0, lr * (float(lam[0]) - lam_tol), two_ii - lr * (float(lam[-1]) + lam_tol))
    return {
        "c": c,
        "c_rho_T": q,
        "c_rho_T_tolerance": q_tol,
        "gd_slack": gd,
        "epsilon_room": eps_room,
        "part_i": gd > lam_tol or q - 1 > q_tol,
        "part_ii": eps_room > 0 and q + q_tol < eps_room,
    }


def decide(inst: LinearSGDInstance, two_i: float, two_ii: float) -> Evidence:
    """One case: out of scope (holds None, margin ∞) when no condition holds beyond round-off."""
    p = parts(inst, two_i, two_ii)
    if not (p["part_i"] or p["part_ii"]):
        return Evidence(None, margin=math.inf)
    rho, tol = operator_radius(moment_operator(inst.fam.hs, float(inst.lr), inst.batch))
    part = "(i)" if p["part_i"] else "(ii)"
    values = {**p, "part": part, "eta": str(inst.lr), "B": inst.batch, "radius_L": rho, "radius_tolerance": tol}
    gap = rho - 1 if p["part_i"] else 1 - rho
    if abs(gap) <= tol:
        return Evidence(None, values, margin=math.inf, note="ρ(𝓛) is within round-off of 1")
    note = "" if gap > 0 else f"part {part}, η = {inst.lr}, B = {inst.batch}: condition holds but ρ(𝓛) = {rho:.6g}"
    return Evidence(gap > 0, values, margin=gap / max(tol, 1e-15), note=note)


def check(inst: LinearSGDInstance, impl, budget) -> Evidence:
    two_i, two_ii = constant(budget, CONSTANTS, "two_i"), constant(budget, CONSTANTS, "two_ii")
    drawn = decide(inst, two_i, two_ii)
    if drawn.holds is None and not drawn.values:
        return Evidence(None, out_of_scope="neither condition of Lemma 4.1 holds beyond round-off")
    d1 = definition1_check(impl, inst, budget.draws(impl, cap=4096), budget.seed, budget.alpha)
    if not d1["holds"]:
        values = {**(drawn.values or {}), "definition1_max_error": d1["max_error"]}
        return Evidence(False, values, margin=d1["margin"], note=FAILED_NOTE)
    decided = [ev for ev in (drawn, *(decide(c, two_i, two_ii) for c in sweep(inst.fam))) if ev.holds is not None]
    if not decided:
        return drawn
    worst = min(decided, key=lambda ev: ev.margin)
    values = {**(worst.values or {}), "definition1_max_error": d1["max_error"], "cases_decided": len(decided)}
    return Evidence(worst.holds, values, margin=worst.margin, note=worst.note)


CLAIM = Claim(
    id="dexter2024.lemma4_1",
    paper="dexter2024",
    ref="Lemma 4.1, §4 (proof: Appendix A.2)",
    kind="dynamics",
    statement=r"(i)\ \lambda_1(H)>\tfrac2\eta\ \lor\ c^k\!\sum_y\|H_{y_k}\cdots H_{y_1}\|_F^2\to\infty"
    r"\Rightarrow\mathbb E\|\hat J_k\cdots\hat J_1\|_F^2\to\infty;\ (ii)\ \tfrac\epsilon\eta<\lambda_i(H)<"
    r"\tfrac{2-\epsilon}\eta\ \land\ \epsilon^{-k}c^k\!\sum_y\|\cdot\|_F^2\to0\Rightarrow\mathbb E\|\cdot\|_F^2\to0,"
    r"\ c=\tfrac{\eta^2}{nB}-\tfrac{\eta^2}{n^2}",
    summary="Lemma 4.1: (i) divergence and (ii) convergence conditions for E‖Ĵ_k⋯Ĵ₁‖_F².",
    faithful="exact",
    instances=lambda budget: instances(),
    check=check,
    constants=CONSTANTS,
    algorithm="linsgd",
    describe=LinearSGDInstance.describe,
)
