"""Decision rules that cannot accept a wrong constant, ties at the working precision, and
conclusions decided apart from the wording and the steps of their proofs."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

import flatcheck_theorems.wen2023.corollary15_17 as corollary15_17
import flatcheck_theorems.wen2023.lemma30_32 as lemma30_32
import flatcheck_theorems.wen2023.theorem8 as theorem8
from flatcheck.impl import builtin
from flatcheck.problems import quadratic
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get
from flatcheck.verify.runner import run_claim

R = sp.Rational
QUICK = budget_for("quick")
TOY_START = {"x_init": [R(1, 2), R(1, 2), R(1, 4), R(-1, 4)]}


def _run(claim_id: str, budget=QUICK):
    c = get(claim_id)
    return run_claim(c, budget, impl=builtin(c.algorithm) if c.algorithm else None, catalog_size=72)


@pytest.mark.parametrize(
    "eig, u, x",
    [([0, 1], [-4, -1], [2, 0]), ([0, 0, 1], [-3, 2, -4], [R(1, 2), 0, R(1, 2)]), ([0, 1], [-4, 1], [-1, 0])],
)
def test_lemma30_exact_tie_holds_and_a_stronger_constant_fails_on_it(eig, u, x):
    """Rank-1 quadratics make all four terms of Lemma 30's chain equal (the seeds' former false
    alarms): the tie holds at the 30-digit working precision, and c_grad = ½ breaks it."""
    inst = {"problem": quadratic([R(e) for e in eig], [R(c) for c in u]), "x": [R(c) for c in x]}
    ev = lemma30_32.CLAIM.check(inst, None, QUICK)
    assert ev.holds is True, (ev.note, ev.values)
    v = ev.values
    assert v["x_minus_Phi"] == pytest.approx(v["grad_norm_over_mu"], rel=1e-15)
    assert ev.values["tolerance"] < 1e-18 * (1 + v["grad_norm_over_mu"])
    stronger = dataclasses.replace(QUICK, constants={"c_grad": 0.5})
    assert lemma30_32.CLAIM.check(inst, None, stronger).holds is False


def test_corollary15_with_rho2_lambda1_instead_of_half_is_falsified():
    sam = builtin("sam")
    assert corollary15_17.check(TOY_START, sam, QUICK).holds is True
    ev = corollary15_17.check(TOY_START, sam, dataclasses.replace(QUICK, constants={"half15": 1.0}))
    assert ev.holds is False and "Corollary 15" in ev.note, ev.note
    # The rule uses the claimed exponent (less only Õ's log factor), never half of it.
    assert ev.values["corollary15"]["required_exponent"] > 0.8


def test_theorem8_decides_with_the_claimed_exponent():
    sam = builtin("sam")
    ev = theorem8.check(TOY_START, sam, QUICK)
    assert ev.holds is True, ev.values
    assert ev.margin == pytest.approx(
        min(ev.values["fitted_exponent_error_vs_rate"], ev.values["fitted_exponent_angle_vs_rho"]) - 1.0
    )
    # An exponent above what the runs show is rejected.
    too_strong = dataclasses.replace(
        QUICK, constants={"error_exponent": ev.values["fitted_exponent_error_vs_rate"] + 0.1}
    )
    assert theorem8.check(TOY_START, sam, too_strong).holds is False


def test_ahn_theorem2_d_dependence_is_inconclusive_not_verified():
    res = _run("ahn2024.theorem2")
    assert res.verdict == "inconclusive", res.reason
    assert "dependence on d is not decided" in res.reason


@pytest.mark.parametrize(
    "claim_id, verdict",
    [
        ("nso.theorem2_2_sigma", "verified"),
        ("nso.theorem2_2_sigma.wording", "falsified"),
        ("nso.theorem4_5.wording", "falsified"),
    ],
)
def test_conclusion_and_wording_have_their_own_verdicts(claim_id, verdict):
    res = _run(claim_id)
    assert res.verdict == verdict, (res.reason, res.counterexample)


def test_theorem4_5_wording_slip_is_the_off_by_one_at_T_equal_d():
    res = _run("nso.theorem4_5.wording")
    cx = res.counterexample["instance"]
    assert cx["T"] == cx["dim"] or "G <= 1/C" in res.reason, (res.reason, cx)


def test_theorem4_5_lemma_B2_last_chain_fails_where_sigma_exceeds_D_sqrt_2CkT():
    from flatcheck_theorems.nso._theorem4_5 import make_check

    inst = {"C": 1, "G": 1, "alpha": 1, "D": 1, "sigma": 4, "k": 1, "T": 1, "S": R(1, 8), "Q": 1, "dim": 3, "c": 1}
    inst = {k: R(v) for k, v in inst.items()}
    ev = make_check("steps")(inst, None, QUICK)
    assert ev.holds is False and "Lemma B.2" in ev.note
    # σ below D√(2CkT): the chain holds at the edge of its condition.
    ev = make_check("steps")({**inst, "sigma": R(1, 4), "S": R(1)}, None, QUICK)
    assert ev.holds is True, ev.note
