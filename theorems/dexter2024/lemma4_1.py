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
bound; instances within it of a boundary are out of scope. η is drawn on both sides of the
boundaries (ηλ₁(H) from 0.05 to 3 times 1), on diagonal and non-diagonal families, every B ∈ [n].
The implementation's Ĵ must follow Definition 1 (E[Ĵ], E[Ĵ²], error ≤ α).
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.problems.dexter_families import (
    LinearSGDInstance,
    diagonal_families,
    psd_families,
    rational_at_least,
)
from flatcheck.stats.stability import moment_operator, operator_radius, path_operator
from flatcheck.verify import Claim, Evidence

from ._definition1 import FAILED_NOTE, definition1_check


@st.composite
def instances(draw) -> LinearSGDInstance:
    fam = draw(diagonal_families(max_n=6, max_d=3) | psd_families(max_n=5, max_d=3))
    batch = draw(st.integers(1, fam.n))
    scale = draw(st.sampled_from([0.05, 0.3, 0.7, 0.95, 1.05, 1.5, 2.1, 3.0]))
    return LinearSGDInstance(fam, rational_at_least(scale / fam.lambda1()), batch)


def parts(inst: LinearSGDInstance) -> dict:
    fam, lr, b, n = inst.fam, float(inst.lr), inst.batch, inst.fam.n
    c = lr**2 / (n * b) - lr**2 / n**2
    rho_t, tol_t = operator_radius(path_operator(fam.hs))
    q, q_tol = c * rho_t, abs(c) * tol_t + 1e-15
    lam = torch.linalg.eigvalsh(fam.mean)
    lam_tol = 64 * fam.d * torch.finfo(torch.float64).eps * float(lam.abs().max())
    gd = float(lam[-1]) - 2 / lr
    eps_room = min(1.0, lr * (float(lam[0]) - lam_tol), 2 - lr * (float(lam[-1]) + lam_tol))
    return {
        "c": c,
        "c_rho_T": q,
        "c_rho_T_tolerance": q_tol,
        "gd_slack": gd,
        "epsilon_room": eps_room,
        "part_i": gd > lam_tol or q - 1 > q_tol,
        "part_ii": eps_room > 0 and q + q_tol < eps_room,
    }


def check(inst: LinearSGDInstance, impl, budget) -> Evidence:
    p = parts(inst)
    if not (p["part_i"] or p["part_ii"]):
        return Evidence(None, out_of_scope="neither condition of Lemma 4.1 holds beyond round-off")
    fam = inst.fam
    d1 = definition1_check(impl, inst, budget.draws(impl, cap=4096), budget.seed, budget.alpha)
    rho, tol = operator_radius(moment_operator(fam.hs, float(inst.lr), inst.batch))
    values = {**p, "radius_L": rho, "radius_tolerance": tol, "definition1_max_error": d1["max_error"]}
    if not d1["holds"]:
        return Evidence(False, values, margin=d1["margin"], note=FAILED_NOTE)
    gap = rho - 1 if p["part_i"] else 1 - rho
    if abs(gap) <= tol:
        return Evidence(None, values, note="ρ(𝓛) is within round-off of 1")
    part = "(i)" if p["part_i"] else "(ii)"
    note = "" if gap > 0 else f"part {part}: condition holds but ρ(𝓛) = {rho:.6g}"
    return Evidence(gap > 0, {"part": part, **values}, margin=gap / max(tol, 1e-15), note=note)


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
    algorithm="linsgd",
    describe=LinearSGDInstance.describe,
)
