"""The NSO catalog: exact layers cross-checked, claims verified on the built-in NSO, falsified on
wrong constants and broken implementations, and the paper's findings reproduced."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import sympy as sp
import torch

from flatcheck.algorithms import SPARSE_P, symmetric_noise
from flatcheck.impl import Implementation, builtin
from flatcheck.problems.nso_families import kinked_loss, matrix_sensing, rotated
from flatcheck.symbolic import expectation
from flatcheck.symbolic.gaussian import gaussian_expectation
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import run_claim

# Falsified claims shrink until the time limit: a short one keeps the suite fast.
FAST_FAIL = dataclasses.replace(budget_for("quick"), time_limit_s=8.0)


def claim(cid: str):
    return importlib.import_module("flatcheck_theorems.nso." + cid.split(".", 1)[1].replace(".", "_"))


def run(cid: str, budget=None, impl=None, check=None):
    c = claim(cid).CLAIM
    if check is not None:
        c = dataclasses.replace(c, check=check)
    impl = impl or (builtin(c.algorithm) if c.algorithm else None)
    return run_claim(c, budget or budget_for("quick"), impl=impl, catalog_size=60)


def test_gaussian_moments_anisotropic_and_isotropic():
    u = sp.symbols("u1:3")
    a, b, c = sp.symbols("a b c")
    assert (
        sp.expand(gaussian_expectation(u[0] ** 2 * u[1] ** 2, u, sp.Matrix([[a, b], [b, c]])) - a * c - 2 * b**2) == 0
    )
    p = (u[0] + 2 * u[1]) ** 4 - 3 * u[0] ** 2 * u[1] + u[1] ** 6
    assert sp.expand(gaussian_expectation(p, u, sp.eye(2)) - expectation(p, u, "gaussian")) == 0


def test_digits_mlp_exact_hessian_pieces():
    from flatcheck.problems.digits_mlp import (
        digits_mlp,
        flat_loss,
        hessian_diagonal,
        hessian_trace,
        quadratic_form,
    )

    model, loss_fn, data = digits_mlp(hidden=3, seed=1, steps=20)
    x, y = data.x_train[:100], data.y_train[:100]
    w, f = flat_loss(model, x, y)
    assert torch.allclose(f(w), loss_fn(model(x), y))
    diag = hessian_diagonal(model, x, y)
    assert abs(hessian_trace(f, w) - float(diag.sum())) < 1e-12
    z = torch.randn(3, w.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    hvp = torch.stack([torch.autograd.functional.hvp(f, w, v)[1] for v in z])
    assert torch.allclose(quadratic_form(model, x, y, z), (hvp * z).sum(-1))


def test_matrix_sensing_trace_at_zero_loss_matches_autograd():
    ms = matrix_sensing(3, 1, 12, 0)
    w = rotated(ms, 1)
    assert float(ms.f(w)) < 1e-25
    hess = torch.autograd.functional.hessian(ms.f, w)
    assert abs(float(torch.trace(hess)) - float(ms.hessian_trace_at_zero_loss(w))) < 1e-10


@pytest.mark.parametrize(
    "cid, wrong",
    [("nso.prop2_1", sp.Rational(1, 4)), ("nso.lemmaA4", sp.Rational(1, 4))],
)
def test_wrong_coefficient_is_falsified(cid, wrong):
    res = run(cid, FAST_FAIL, check=claim(cid).make_check(wrong))
    assert res.verdict == "falsified", res.reason
    assert res.counterexample["holds"] is False


def test_eq12_wrong_power_is_falsified():
    mod = claim("nso.eq12")
    res = run("nso.eq12", FAST_FAIL, check=mod.make_check(mod.SIGMA))
    assert res.verdict == "falsified", res.reason


def test_lemmaB1_counterexample_has_C_below_one():
    res = run("nso.lemmaB1", FAST_FAIL)
    assert res.counterexample["values"]["C"] < 1


def _user(cls_name: str) -> Implementation:
    import broken_nso

    return Implementation(f"broken_nso:{cls_name}", "nso", getattr(broken_nso, cls_name))


@pytest.mark.slow
def test_reference_user_nso_verified():
    res = run("nso.eq28", impl=_user("ReferenceNSO"))
    assert res.verdict == "verified", (res.reason, res.traceback)


@pytest.mark.slow
def test_overscaled_nso_falsified():
    res = run("nso.eq28", FAST_FAIL, impl=_user("OverScaledNSO"))
    assert res.verdict == "falsified", (res.reason, res.traceback)


def test_eq28_half_mutant_killed_on_the_sparse_kink():
    """(28) at ratio 1 − p = 7/8: the kinked loss at W = 0 under the sparse law. The ×½ mutant is
    false there and falsified; the printed bound holds (the printed run is the catalog's own)."""
    half = dataclasses.replace(FAST_FAIL, constants={"c": 0.5})
    res = run("nso.eq28", half)
    assert res.verdict == "falsified", res.reason
    assert res.counterexample["instance"]["noise"] == "sparse"


def test_lemma4_4_delta_bound_reached_on_the_kink_and_its_half_refuted():
    """Lemma 4.4's δ bound on the kinked loss under the sparse law (exact oracle, ξ ≡ 0): the printed
    C²H(P)/k holds, its ×½ mutant is falsified (E‖δ‖² = 7/8 of the printed bound)."""
    from flatcheck.problems.nso_families import NSOInstance

    lemma = claim("nso.lemma4_4")
    prob = kinked_loss(sp.Integer(1), sp.Integer(2), 1, [[sp.Integer(0)]], SPARSE_P)
    inst = NSOInstance(prob, [sp.Integer(0)], 0.5, 2, "sparse")
    printed = lemma.check(inst, builtin("nso"), budget_for("quick"))
    assert printed.holds and 0.8 < printed.values["tightness_delta"] < 0.95, printed.values
    assert printed.values["E_xi2"] == 0.0
    half = lemma.check(inst, builtin("nso"), dataclasses.replace(budget_for("quick"), constants={"c_delta": 0.5}))
    assert half.holds is False and "E‖δ‖²" in half.note


def test_two_point_variance_on_the_kink_is_seven_eighths_of_the_bound():
    """The exact oracle of the kinked family: C²·Var|U| at W = 0 under the sparse law, 7/8 of C²H(P)
    — the two-point average of the built-in NSO, read back over 2¹⁶ draws, agrees."""
    prob = kinked_loss(sp.Integer(2), sp.Integer(2), 1, [[sp.Integer(0)]], SPARSE_P)
    sigma_u, n = 0.5, 1 << 16
    gen = torch.Generator().manual_seed(0)
    u = symmetric_noise((n,), 1, sigma_u, "sparse", gen)
    two_point = (prob.grad(u) + prob.grad(-u)) / 2
    dev = two_point - prob.known["grad_F"](torch.zeros(1, dtype=torch.float64), sigma_u)
    ratio = float((dev**2).mean()) / (prob.known["C"] ** 2 * sigma_u**2)
    assert abs(ratio - (1 - SPARSE_P)) < 0.03, ratio


def test_theorem4_5_lower_bound_fails_for_large_sigma():
    from flatcheck.impl import builtin as _builtin

    sim = importlib.import_module("flatcheck_theorems.nso._theorem4_5").simulate(
        {"C": 1, "D": 1, "sigma": 16, "k": 1, "T": 4, "c": 1}, _builtin("nso")
    )
    # The construction's gradient is capped by D²C = 1 while (9) grows with σ.
    assert sim["min_grad2"] < sim["bound_9"]


def test_table2_verifies_where_the_approximation_holds_and_is_not_reproduced_where_it_fails(monkeypatch):
    mod = claim("nso.table2")
    res = run("nso.table2")
    # The paper's σ grid on our MLP: the gap is 5–6% off ½σ²Tr — a measurement, not a refutation.
    assert res.verdict == "inconclusive" and "not reproduced on our MLP" in res.reason
    # Ten times smaller σ: the higher-order terms shrink a hundredfold and the 3% holds.
    monkeypatch.setattr(mod, "SIGMAS", [s / 10 for s in mod.SIGMAS])
    mod._measure.cache_clear()
    res = run("nso.table2")
    assert res.verdict == "verified", res.reason
    assert res.evidence["values"]["rss_error_interval"][1] <= 0.03
    mod._measure.cache_clear()


def test_declared_constants_of_the_verified_claims_are_killed():
    """The steps' normalisations and Lemma B.1's two constants (its runs include ones where the bound
    is attained) and (21)'s leading constant and ξ's order: every mutant is falsified in quick."""
    from flatcheck.verify.mutate import run_mutants
    from flatcheck.verify.registry import get

    ids = ["nso.alg1_step", "nso.wp_step", "nso.lemmaB1.corrected", "nso.theorem2_2_sigma"]
    claims = [get(i) for i in ids]
    recs = run_mutants(claims, budget_for("quick"), lambda c: builtin(c.algorithm) if c.algorithm else None, 70)
    assert {r["claim"] for r in recs} == set(ids)
    alive = [(r["claim"], r["constant"], r["status"], r["reason"]) for r in recs if r["status"] != "killed"]
    assert not alive, alive


def _kink_instance(w: list[sp.Rational]):
    from flatcheck.problems.nso_families import SmoothingInstance, cubic_kink_loss

    half = sp.Rational(1, 2)
    prob = cubic_kink_loss([sp.Integer(2), sp.Integer(1)], [[sp.Integer(1), sp.Integer(-2)], [1, 1]], [-half, 0])
    return SmoothingInstance(prob, w, sp.Matrix([[half, 0], [0, half]]))


def test_cubic_kink_remainder_is_order_three_halves_at_the_kink_and_matches_monte_carlo():
    from flatcheck.numeric.smoothing import S, known_remainder
    from flatcheck.symbolic.gaussian import lowest_order

    on, off = _kink_instance([sp.Rational(1, 2), sp.Rational(1, 2)]), _kink_instance([sp.Integer(1), sp.Integer(3)])
    half = sp.Rational(1, 2)
    powers, flat = known_remainder(on.problem, on.w, on.cov, half)
    # c_1·E|a_1ᵀU|³ with a_1ᵀΣ₀a_1 = 5/2: 2·4(5s/2)^{3/2}/√(2π); the second kink is off W.
    assert sp.simplify(powers - 8 * (5 * S / 2) ** sp.Rational(3, 2) / sp.sqrt(2 * sp.pi)) == 0
    t = sp.Symbol("t", positive=True)
    assert lowest_order(known_remainder(off.problem, off.w, off.cov, half)[0].subs(S, t**2), t) == float("inf")
    # Piecewise compiles to torch (torch.where): the closed form of E f(W + U) agrees with Monte Carlo.
    s, n = 0.25, 1 << 20
    gen = torch.Generator().manual_seed(0)
    for inst in (on, off):
        u = torch.randn(n, 2, generator=gen, dtype=torch.float64) * (s / 2) ** 0.5
        vals = inst.problem.f(inst.w_tensor() + u)
        mean, err = float(vals.mean()), 6 * float(vals.std()) / n**0.5
        powers, flat = inst.problem.known["gaussian_mean"](inst.w, inst.cov, S)
        assert abs(float((powers + flat).subs(S, s)) - mean) < err


def test_prop2_1_order_two_mutant_is_falsified_on_a_kink():
    res = run("nso.prop2_1", dataclasses.replace(FAST_FAIL, constants={"order": 2.0}))
    assert res.verdict == "falsified", res.reason
    assert res.counterexample["instance"]["problem"]["family"] == "cubic_kink_loss"
    assert run("nso.prop2_1").verdict == "verified"
