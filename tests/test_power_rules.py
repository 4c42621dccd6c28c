"""Decision rules that cannot accept a wrong constant, ties at the working precision, and
conclusions decided apart from the wording and the steps of their proofs."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import sympy as sp
import torch

import flatcheck_theorems.wen2023.corollary15_17 as corollary15_17
import flatcheck_theorems.wen2023.lemma30_32 as lemma30_32
import flatcheck_theorems.wen2023.theorem8 as theorem8
import flatcheck_theorems.wen2023.theorem11 as theorem11
import flatcheck_theorems.wen2023.theorem13 as theorem13
from flatcheck.impl import builtin
from flatcheck.impl.dynamics import required_exponent, scaling_decision
from flatcheck.problems import quadratic
from flatcheck.problems.manifolds import ManifoldInstance
from flatcheck.stats.exponents import line_fit, loglog_exponent
from flatcheck.stats.remainder_order_mc import mc_order
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


@pytest.mark.slow
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
    lower, upper = ev.values["exponent_interval_error"]
    # From the slowest local slope against η+ρ (no credit for the log) to the fastest against the rate.
    assert 1.0 <= lower < ev.values["fitted_exponent_error_vs_rate"] <= upper, ev.values
    # Both laws' integer orders are 1, the claimed exponents: no slack.
    assert ev.margin == pytest.approx(0.0)

    def verdict(exponent: float) -> bool | None:
        return theorem8.check(TOY_START, sam, dataclasses.replace(QUICK, constants={"error_exponent": exponent})).holds

    # The full ladder's interval decides nothing: an exponent inside it or above it is refuted by the
    # order ladder's order 1, never verified by the pre-asymptotic slopes or the log; one below holds.
    assert verdict((lower + upper) / 2) is False
    assert verdict(upper + 0.1) is False
    assert verdict(0.5) is True


def test_theorem8_angle_law_is_decided_by_its_integer_order():
    """The angle's mutant O(ρ^1.5) is violated on the curved toy, the printed O(ρ) holds there with
    its order 1 read to within round-off (issue 15: a statement tight somewhere has its mutant killed)."""
    sam = builtin("sam")
    ev = theorem8.check(TOY_START, sam, QUICK)
    assert ev.holds is True and ev.values["angle_order"] == 1, ev.values
    assert all(abs(o - 1) < 1e-3 for o in ev.values["angle_local_orders"]), ev.values
    # ρ/η ≤ 1/10 on the angle's ladder: the theorem's regime, not the tracking ladder's ρ/η = 10.
    assert max(ev.values["angle_rhos"]) <= ev.values["angle_eta"] / 10
    mutant = theorem8.check(TOY_START, sam, dataclasses.replace(QUICK, constants={"angle_exponent": 1.5}))
    assert mutant.holds is False and "angle" in mutant.note and "order 1" in mutant.note, mutant.note


@pytest.mark.parametrize(
    "orders, order",
    [
        ([1.00002, 1.00001], 1),
        ([0.8, 1.2], 1),
        ([0.03, 0.016], 0),
        ([2.1, 1.9], 2),
        ([1.3, 1.2], None),
        ([1.0, 1.5], None),
    ],
)
def test_theorem8_angle_order_is_the_integer_every_local_slope_is_near(orders, order):
    assert theorem8.integer_order(orders) == order


def test_exponent_interval_rejects_a_wrong_exponent_on_simulated_runs():
    """Iteration counts T = 5·ε^{-2.2}·LogNormal(0, 0.2), 128 runs at each ε: ε^{-2} is falsified,
    ε^{-3} verified, and 2.2 itself sits inside the interval (too close to call)."""
    gen = torch.Generator().manual_seed(0)
    eps = [0.08, 0.056, 0.04, 0.028, 0.02]
    runs = [5 * e**-2.2 * torch.exp(0.2 * torch.randn(128, generator=gen, dtype=torch.float64)) for e in eps]
    fit = loglog_exponent([1 / e for e in eps], runs, 1e-6)
    assert fit.lower < 2.2 < fit.upper and fit.upper - fit.lower < 0.3, fit
    assert fit.decide(2.0) is False and fit.decide(3.0) is True and fit.decide(2.2) is None


def test_scaling_decision_needs_the_claimed_exponent():
    """Deterministic errors against the rate: exponent ½ fails a claimed 1 (the former rule accepted
    it), exponent 1.2 passes; with the log written into the rate none is allowed for."""
    rates = [1.3, 1.0, 0.8, 0.6]
    assert required_exponent(rates, 1.0, 0) == 1.0
    half = [torch.tensor([0.1 * r**0.5]) for r in rates]
    assert scaling_decision(rates, half, 1e-6, 1.0)[0] is False
    exact = scaling_decision(rates, [torch.tensor([0.1 * r**1.2]) for r in rates], 1e-6, 1.0)
    assert exact[0] is True and exact[1].lower == exact[1].upper == pytest.approx(1.2)
    # Õ's hidden log lowers the requirement only by the log factor between the ladder's ends.
    small = [1e-3, 5e-4, 2.5e-4]
    assert 0.8 < required_exponent(small, 1.0, 1) < 1.0


def test_scaling_decision_decides_on_the_exponents_interval_not_its_point_estimate():
    """Chains with error 0.1·rate^1.2·LogNormal(0, 0.35) (theorem11's spread): with 4096 chains a
    rung the interval is ±0.05, so a claimed 1 holds and a claimed 1.5 is falsified; with 8 it spans
    more than a unit and both are undecided, whatever the point estimate says."""
    gen = torch.Generator().manual_seed(0)
    rates = [1.3, 1.0, 0.8, 0.6]

    def chains(n: int) -> list[torch.Tensor]:
        return [0.1 * r**1.2 * torch.exp(0.35 * torch.randn(n, generator=gen, dtype=torch.float64)) for r in rates]

    many = chains(4096)
    decided, fit, _, _ = scaling_decision(rates, many, 1e-6, 1.0)
    assert decided is True and fit.lower < 1.2 < fit.upper and fit.upper - fit.lower < 0.15, fit
    assert scaling_decision(rates, many, 1e-6, 1.5)[0] is False
    few = chains(8)
    for claimed in (1.0, 1.5):
        decided, fit, _, _ = scaling_decision(rates, few, 1e-6, claimed)
        assert decided is None and fit.upper - fit.lower > 1.0, fit


@pytest.mark.slow
def test_theorem11_requires_the_claimed_exponent():
    ev = theorem11.check(TOY_START, builtin("sam_stochastic"), QUICK)
    assert ev.values["required_exponent"] == 1.0
    assert ev.holds is True and ev.values["exponent_interval"][0] >= 1.0, (ev.note, ev.values)
    # The mutant O(rate^1.5) passed on the point estimate (1.69 on this start); its interval
    # [1.48, 1.90] contains 1.5, so it is undecided, never verified.
    mutant = theorem11.check(
        TOY_START, builtin("sam_stochastic"), dataclasses.replace(QUICK, constants={"exponent": 1.5})
    )
    assert mutant.holds is None and "undecided" in mutant.note, (mutant.note, mutant.values)


def test_line_fit_intervals():
    xs = [0.25, 0.125, 0.0625, 0.03125]
    exact = line_fit(xs, [2 + 3 * x for x in xs], 1e-6)
    assert exact.intercept == pytest.approx(2) and exact.intercept_half == 0 and not exact.intercept_excludes(2)
    bent = line_fit(xs, [2 + 3 * x + (-1) ** i * 1e-3 for i, x in enumerate(xs)], 1e-3)
    lo, hi = bent.intercept_interval
    assert lo < 2 < hi and bent.intercept_excludes(2.5) and bent.dof == 2


# The inf of R^asc over B(x, ρ³) by projected descent misses the infimum unevenly along the ladder
# (q − S = 1e-4…1e-3 with no trend): on quick seeds 17, 27 and 40 the flat log|q − S| falsified this
# correct claim (seed 40's counterexample: λ = 3, 4, 7/2, 0 at x = 0, S = λ_M/2 = 3/2).
SEED40 = ManifoldInstance(partial(quadratic, [R(3), R(4), R(7, 2), R(0)], [R(1), R(2), R(0), R(0)]), [R(0)] * 4, 3)


def test_theorem13_solver_scatter_is_undecided_and_a_wrong_limit_still_falsified():
    ev = theorem13.CLAIM.check(SEED40, None, QUICK)
    assert ev.holds is None and "does not shrink" in ev.note, (ev.note, ev.values)
    lo, hi = ev.values["limit_offset_interval"]
    assert lo < 0 < hi
    for scale in (2.0, 0.5):
        wrong = theorem13.CLAIM.check(SEED40, None, dataclasses.replace(QUICK, constants={"scale": scale}))
        assert wrong.holds is False, (wrong.note, wrong.values)
        lo, hi = wrong.values["limit_offset_interval"]
        assert not lo < 0 < hi


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


def test_mc_order_accepts_only_an_order_its_interval_reaches():
    """Remainder s²(1 + s) known to ±3% at each level (so the local order between s = 4⁻² and 4⁻³ lies
    in about [1.9, 2.1]): O(s^{3/2}) holds, O(s^{2.5}) is falsified, and O(s^{2.05}) — above the
    truth but inside the interval — is undecided; it was accepted while the upper end reached it."""
    levels = [4.0**-j for j in range(1, 4)]
    means = [s**2 * (1 + s) for s in levels]
    widths = [0.03 * m for m in means]
    assert mc_order(levels, means, widths, 1.5).reaches is True
    assert mc_order(levels, means, widths, 2.5).reaches is False
    between = mc_order(levels, means, widths, 2.05)
    assert not between.decided and between.reaches is None and "undecided" in between.note


def test_control_variate_decides_two_runs_that_track_the_reference_and_not_two_that_do_not():
    """Errors 0.1·r^1.2·LogNormal(0, 0.35): 1024 reference runs per rate decide alone. Two runs under
    test on the reference's draws add their differences' uncertainty: round-off keeps the reference's
    interval (decided); differences of 30% leave it undecided — 2 runs cannot pin them down."""
    gen = torch.Generator().manual_seed(0)
    rates = [1.2, 0.3]

    def runs(n: int) -> list[torch.Tensor]:
        return [0.1 * r**1.2 * torch.exp(0.35 * torch.randn(n, generator=gen, dtype=torch.float64)) for r in rates]

    many, paired = runs(1024), runs(2)
    alone = scaling_decision(rates, paired, 1e-6, 1.0)[1]
    assert alone.upper - alone.lower > 100, alone
    tracking = [p * (1 + 1e-13) for p in paired]
    holds, fit, _, _ = scaling_decision(rates, tracking, 1e-6, 1.0, control=(many, paired))
    reference = scaling_decision(rates, many, 1e-6, 1.0)[1]
    assert holds is True and fit.lower == pytest.approx(reference.lower, abs=1e-3), (fit, reference)
    departing = [p * torch.tensor([1.3, 0.8], dtype=torch.float64) for p in paired]
    assert scaling_decision(rates, departing, 1e-6, 1.0, control=(many, paired))[0] is None
