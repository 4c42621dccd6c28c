"""The ahn2024 catalog beyond the first slice: every claim verified on the built-in RSP/SAP, broken
implementations and wrong constants falsified with small counterexamples."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from flatcheck.impl import Implementation, builtin
from flatcheck.verify import Evidence
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import run_claim


def _module(name: str):
    return importlib.import_module(f"flatcheck_theorems.ahn2024.{name}")


def _run(claim, impl=None, time_limit_s: float | None = None):
    if impl is None and claim.algorithm:
        impl = builtin(claim.algorithm)
    budget = budget_for("quick")
    if time_limit_s is not None:
        # Falsifications: the first counterexample is reported unshrunk (these tests assert the verdict
        # and what the counterexample shows; test_slice tests the shrinking).
        budget = dataclasses.replace(budget, time_limit_s=time_limit_s, shrink_checks=0)
    return run_claim(claim, budget, impl=impl, catalog_size=60)


def _user(module: str, cls: str, algorithm: str) -> Implementation:
    return Implementation(f"{module}:{cls}", algorithm, getattr(importlib.import_module(module), cls))


@pytest.mark.parametrize(
    "module, cls, algorithm, name",
    [
        pytest.param("broken_sap", "NoSignSAP", "sap", "sketch_d_factor", marks=pytest.mark.slow),
        pytest.param("broken_sap", "FullBatchOuterSAP", "sap", "sketch_d_factor", marks=pytest.mark.slow),
        pytest.param("broken_sap_variants", "NoProjectionSAP", "sap", "sketch_d_factor", marks=pytest.mark.slow),
        ("broken_rsp", "GaussianRSP", "rsp", "lemma2"),
        ("broken_rsp", "RhoMisplacedRSP", "rsp", "lemma2"),
    ],
)
def test_broken_implementations_falsified(module, cls, algorithm, name):
    res = _run(_module(name).CLAIM, impl=_user(module, cls, algorithm), time_limit_s=8)
    assert res.verdict == "falsified", (res.reason, res.traceback)
    assert res.counterexample is not None and res.counterexample["holds"] is False


@pytest.mark.slow
def test_reference_user_sap_verified():
    res = _run(_module("lemma4").CLAIM, impl=_user("broken_sap", "ReferenceSAP", "sap"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


def test_sketch_eq6_leading_term_is_falsified():
    """The proof sketch's (6) prints −ηρ²‖∇_t‖²; (5) and Lemma 10 give −½ηρ²‖∇_t‖²."""
    m = _module("lemma2")
    res = _run(dataclasses.replace(m.CLAIM, check=m.make_check(1.0)), time_limit_s=8)
    assert res.verdict == "falsified", res.reason
    assert abs(res.counterexample["values"]["measured_coefficient"][-1] + 0.5) < 1e-2


def test_rsp_factor_in_lemma4_is_falsified():
    """Lemma 11 with Lemma 9's factor 1 instead of d: rejected (remainder of order 2)."""
    m = _module("lemma4")
    res = _run(dataclasses.replace(m.CLAIM, check=m.make_check(lambda d: 1)), time_limit_s=8)
    assert res.verdict == "falsified", res.reason


@pytest.mark.parametrize(
    "name, args",
    [
        ("lemma6", (lambda prob, x: prob.grad_trace_bar(x),)),
        ("sketch_d_factor", (lambda d, n: d, lambda d, n: d)),
        ("lemma7", (3.0,)),
        ("lemma5", (lambda gap, alpha: (gap / alpha) ** 0.5 / 4,)),
        ("theorem1", (1.0,)),
        ("eq4", (1.0,)),  # ρ²∇³f[g, g] without the ½ leaves an O(ρ²) remainder
    ],
)
def test_wrong_statements_falsified(name, args):
    m = _module(name)
    res = _run(dataclasses.replace(m.CLAIM, check=m.make_check(*args)), time_limit_s=8)
    assert res.verdict == "falsified", res.reason


@pytest.mark.parametrize("profile", ["quick", "default"])
def test_theorem1_halved_T_constant_is_falsified(profile):
    """Issue 15: T = (c_T/2)·ε⁻³δ⁻⁴ puts T near the first flat step at ε = 0.1, where half the returned
    iterates precede it: the declared (c_T, C) tells c_T from c_T/2 (the printed law: test_theorem1_returned)."""
    m = _module("theorem1")
    (c_t,) = (c.mutated() for c in m.CONSTANTS if c.name == "T_constant")
    budget = dataclasses.replace(budget_for(profile), constants={"T_constant": c_t})
    res = run_claim(m.CLAIM, budget, impl=builtin("rsp"), catalog_size=60)
    assert res.verdict == "falsified", res.reason
    over = [(p["eps"], p["delta"]) for p in res.counterexample["values"]["points"] if p["lower"] > p["bound"]]
    assert (0.1, 0.4 if profile == "quick" else 0.35) in over, over


def test_lemma5_as_printed_is_falsified_and_the_proofs_form_holds():
    """Finding: Lemma 5's first inequality as printed, ‖x − Φ(x)‖ ≤ √((2/α)√(f(x) − f(Φ(x)))), fails once
    f(x) − f(Φ(x)) > 1 (rescaling f by c shrinks its right-hand side by c^{-1/4}); D.2 proves
    ‖x − Φ(x)‖ ≤ √(2(f(x) − f(Φ(x)))/α), which holds on the same instances."""
    m = _module("lemma5")
    budget = dataclasses.replace(budget_for("quick", seed=4), time_limit_s=8)
    printed = run_claim(m.CLAIM, budget, catalog_size=60)
    assert printed.verdict == "falsified", printed.reason
    assert printed.counterexample["values"]["inequality"] == "dist<=sqrt(2/a*sqrt(gap))"
    corrected = _module("lemma5_corrected")
    res = run_claim(corrected.CLAIM, budget_for("quick", seed=4), catalog_size=60)
    assert res.verdict == "verified", (res.reason, res.counterexample)
    # The corrected claim is not vacuous: a quarter of the proof's bound fails on its instances.
    from flatcheck_theorems.ahn2024._lemma5 import lemma5_bounds

    def quarter(inst, impl, b):
        x = inst.x_tensor()[None]
        return Evidence(**lemma5_bounds(inst.problem, x, lambda gap, alpha: corrected.proof_form(gap, alpha) / 4))

    res = run_claim(dataclasses.replace(corrected.CLAIM, check=quarter), budget, catalog_size=60)
    assert res.verdict == "falsified" and res.counterexample["values"]["inequality"] == "dist<=sqrt(2/a*sqrt(gap))"


def _quartic_point(groups, labels, x, **scalars):
    from flatcheck.problems import PointInstance
    from flatcheck.problems.setting1 import diagonal_network_quartic_loss

    return PointInstance(diagonal_network_quartic_loss(groups, labels), x, scalars=scalars)


def test_quartic_loss_diagonal_network_closed_forms_match_numeric_oracles():
    """Φ (the square loss's closed form) against integrating the quartic loss's own gradient flow, and the
    closed-form tr̄ against the trace of the exact Hessian."""
    import torch

    from flatcheck.numeric import flow
    from flatcheck.numeric import normalized_trace as tr

    inst = _quartic_point([1, 2], [1, 2], [0.5, 1.0, 0.75, 1.25, 0.5, 1.5])
    prob, x = inst.problem, inst.x_tensor()[None]
    res = flow.phi(prob.grad, x)
    assert bool(res.converged.all())
    assert torch.allclose(prob.known["phi"](x), res.point, atol=1e-6)
    pts = torch.cat([x, prob.known["phi"](x), x + 0.3])
    assert torch.allclose(prob.known["trace_bar"](pts), tr.trace_bar(prob.f, pts), rtol=1e-10)
    assert float(prob.grad(prob.known["phi"](x)).abs().max()) < 1e-12


@pytest.mark.parametrize("power, order", [(1.5, 3.5), (2.0, 4.0)])
def test_lemma4_remainder_is_exercised_on_the_quartic_loss(power, order):
    """The remainder is ρ²ε₀ with ε₀ = ρ^power: order 2 + power, not identically 0 — the O(dρ²ε₀) term is
    attained (and the bound O(ρ^min(2+power, 3)) holds)."""
    from flatcheck.verify.profiles import budget_for

    m = _module("lemma4")
    inst = _quartic_point([1, 1], [1, 2], [0.5, 1.0, 1.5, 0.75], rho0=0.25, eps0_power=power)
    ev = m.CLAIM.check(inst, builtin("sap"), budget_for("quick"))
    assert ev.out_of_scope is None and ev.holds is True, ev.note
    assert abs(ev.values["local_orders"][-1] - order) < 0.15
    assert max(ev.values["remainder"]) > 1e-6


def test_lemma4_vanishing_remainder_is_out_of_scope():
    """Under the square loss the remainder is 0 at every ρ (conservation of u_j² − v_j²): no pass, out of scope."""
    from flatcheck.problems import PointInstance
    from flatcheck.problems.setting1 import diagonal_network
    from flatcheck.verify.profiles import budget_for

    m = _module("lemma4")
    inst = PointInstance(diagonal_network([1, 1], [1, 2]), [0.5, 1.0, 1.5, 0.75], scalars={"rho0": 0.25})
    ev = m.CLAIM.check(inst, builtin("sap"), budget_for("quick"))
    assert ev.holds is None and ev.out_of_scope


def test_sphere_quadrature_matches_monte_carlo():
    """The separated disc quadrature of E_g Δtr̄(Φ), g ~ Unif(S³) and Unif(S⁵), against plain Monte Carlo
    over the full sphere (5 standard errors)."""
    import math

    import torch

    from flatcheck.numeric.flatness import trace_change
    from flatcheck.numeric.linalg import proj_out, unit_sphere
    from flatcheck.problems.setting1 import diagonal_network
    from flatcheck_theorems.ahn2024._sphere import sphere_mean_trace_change

    cases = (
        ([1, 2], [1.5, 4.0, 2 / 3, 0.5]),
        ([1, 2], [1.6, 4.0, 2 / 3, 0.5]),  # off X* in the first block: Proj⊥_{∇f(x)} acts there
        ([1, 2, 1], [1.5, 4.0, 1.0, 2 / 3, 0.5, 1.0]),
    )
    for labels, x in cases:
        prob = diagonal_network([1] * len(labels), labels)
        x = torch.tensor([x], dtype=torch.float64)
        lr, rho = torch.tensor([0.2]), torch.tensor([0.4])
        exact, err = sphere_mean_trace_change(prob, x, lr, rho)
        assert float(err) < 1e-13
        n = 400_000
        g = unit_sphere((n,), prob.d, torch.Generator().manual_seed(0))
        xs = x.expand(n, -1)
        gx = prob.grad(xs)
        ch = trace_change(prob, xs, xs - lr * (gx + proj_out(gx, prob.grad(xs + rho * g))))
        assert abs(float(ch.mean() - exact)) < 5 * float(ch.std()) / math.sqrt(n)


def test_sphere_quadrature_refuses_what_does_not_separate():
    import torch

    from flatcheck.problems.setting1 import diagonal_network
    from flatcheck_theorems.ahn2024._sphere import sphere_mean_trace_change

    prob = diagonal_network([1, 1], [1, 2])
    off = torch.tensor([[1.1, 2.1, 1.0, 1.0]], dtype=torch.float64)  # ∇f ≠ 0 in both blocks
    with pytest.raises(ValueError):
        sphere_mean_trace_change(prob, off, torch.tensor([0.1]), torch.tensor([0.1]))


def test_lemma2_block_coefficient_is_minus_half_in_d_4_and_6():
    """derive_at over S^{d−1} gives −½ at d = 4, 6, and the check on those instances measures it; the sketch's
    −1 is falsified there."""
    import sympy as sp

    from flatcheck.verify.profiles import budget_for

    m = _module("lemma2")
    blocks = ((sp.Integer(4), sp.Rational(1, 2)), (sp.Rational(1, 4), sp.Integer(2)))
    assert m.derive_at(sp.Rational(3, 2), blocks[:1])["coefficient"] == sp.Rational(-1, 2)
    assert m.derive_at(sp.Rational(2, 3), blocks)["coefficient"] == sp.Rational(-1, 2)
    inst = {"t": 1.5, "kappa": 0.25, "rho0": 0.25, "off": 0, "blocks": [(4.0, 0.5), (0.25, 2.0)]}
    ev = m.CLAIM.check(inst, builtin("rsp"), budget_for("quick"))
    assert ev.holds is True and ev.values["d"] == 6, ev.note
    assert abs(ev.values["measured_coefficient"][-1] + 0.5) < 1e-3
    assert m.make_check(1.0)(inst, builtin("rsp"), budget_for("quick")).holds is False


def _lemma3(inst, check=None):
    from flatcheck.verify.profiles import budget_for

    m = _module("lemma3")
    return (check or m.CLAIM.check)(inst, builtin("rsp"), budget_for("quick"))


@pytest.mark.parametrize("blocks", [[], [1.0]])
def test_lemma3_flat_minimum_exercises_the_bound(blocks):
    """At a flat minimum the change is an increase, of order 4 in ε and 6 in δ: the bound is exercised (and
    holds with room); claiming order 5 in ε is falsified on the same instance."""
    inst = {"theta": 0.0, "track": 0, "a": 1.0, "b": 1.0, "eps0": 0.05, "delta0": 0.5, "blocks": blocks}
    ev = _lemma3(inst)
    assert ev.holds is True and ev.values["exercised"], ev.note
    assert abs(ev.values["order_in_eps"][-1] - 4) < 0.1 and abs(ev.values["order_in_delta"][-1] - 6) < 0.2
    assert 0 < ev.values["tightest_ratio"] < 0.05
    assert _lemma3(inst, _module("lemma3").make_check(5.0, 4.0)).holds is False


def test_lemma3_decrease_satisfies_and_is_not_exercised():
    inst = {"theta": 1.0, "track": 0, "a": 1.0, "b": 1.0, "eps0": 0.05, "delta0": 0.5, "blocks": []}
    ev = _lemma3(inst)
    assert ev.holds is True and not ev.values["exercised"]
    assert max(ev.values["exact_change_vs_eps"]) < 0


def test_lemma3_signed_order_test():
    """A path ending in decreases passes; an increase of order 2 where 3 is claimed fails."""
    import torch

    m = _module("lemma3")
    eps = [0.05 * 2 ** (-k / 2) for k in range(10)]
    e = torch.tensor(eps, dtype=torch.float64)
    assert m.upper_order(eps, e**2 - 40 * e**2.5, 3.0, 1e-15) is None
    fit = m.upper_order(eps, e**2, 3.0, 1e-15)
    assert fit.decided and not fit.reaches
    assert m.upper_order(eps, e**4, 3.0, 1e-15).reaches


def test_lemma2_blocks_off_the_manifold():
    """x_t = x* + ρ³n in the first block of a d = 4 instance: −½ measured, the sketch's −1 falsified."""
    from flatcheck.verify.profiles import budget_for

    m = _module("lemma2")
    inst = {"t": 1.5, "kappa": 0.25, "rho0": 0.25, "off": 1, "blocks": [(4.0, 0.5)]}
    ev = m.CLAIM.check(inst, builtin("rsp"), budget_for("quick"))
    assert ev.holds is True and ev.values["d"] == 4, ev.note
    assert abs(ev.values["measured_coefficient"][-1] + 0.5) < 1e-3
    assert m.make_check(1.0)(inst, builtin("rsp"), budget_for("quick")).holds is False


def _lemma8_quadratic_point(c: float):
    import sympy as sp

    from flatcheck.problems import PointInstance

    m = _module("lemma8")
    prob = m.equal_eigenvalue_quadratic(sp.Integer(1), 2, 1, [sp.Integer(1), sp.Integer(2), sp.Integer(4)])
    x = [sp.Integer(2), sp.Integer(-4), sp.Integer(4)]
    inst = PointInstance(prob, x, scalars={"rho": 0.25, "c": 0.0625, "s": 0.125})
    budget = dataclasses.replace(budget_for("quick"), constants={"c": c})
    return m, m.CLAIM.check(inst, builtin("rsp"), budget)


def test_lemma8_sharp_constant_is_derived_and_the_check_falsifies_below_it():
    """D.4's recursion keeps the set invariant for c ≥ ½ (so the ÷4 mutant is a theorem); on a quadratic with
    equal non-zero eigenvalues the exact threshold is 1/(2(2 − ηλ)) ≈ 0.258 at ηλ = 1/16: c = 0.3 holds there,
    c = 0.2 is falsified — the check has power down to the sharp constant."""
    import sympy as sp

    m = _module("lemma8")
    derived = m.derive()
    assert derived["smallest_c_proof"] == sp.Rational(1, 2)
    assert derived["smallest_c_quadratic"].subs("h", 0) == sp.Rational(1, 4)
    _, ev = _lemma8_quadratic_point(0.3)
    assert ev.holds is True and abs(ev.values["smallest_c_exact"] - 1 / (2 * (2 - 1 / 16))) < 1e-12
    for c in (2.0, 0.5):
        assert _lemma8_quadratic_point(c)[1].holds is True
    _, ev = _lemma8_quadratic_point(0.2)
    assert ev.holds is False, ev.values


def test_lemma4_pure_rho_remainder_is_of_order_four():
    """The O(ρ³) of Lemma 11 is loose on every instance (the σ-average is even in ρ): at x* itself (ε₀ = 0)
    the remainder's local orders are 4, which the evidence reports beside the fitted orders."""
    m = _module("lemma4")
    inst = _quartic_point([1, 1], [1, 2], [0.5, 1.0, 1.5, 0.75], rho0=0.25, eps0_power=1.5)
    ev = m.CLAIM.check(inst, builtin("sap"), budget_for("quick"))
    assert ev.holds is True
    assert abs(ev.values["pure_rho_local_orders"][-1] - 4.0) < 0.1
    assert abs(ev.values["local_orders"][-1] - 3.5) < 0.15


def test_eq5_remainder_has_no_odd_terms():
    """E v_t is even in ρ (the sphere is symmetric), so the remainder of (5) starts at ρ⁴: its odd
    coefficients are 0 and its lowest order is 4 on a polynomial of degree 6."""
    import sympy as sp

    from flatcheck.problems import PointInstance
    from flatcheck.problems.polynomial import ridge_polynomial

    m = _module("eq5")
    one = sp.Integer(1)
    prob = ridge_polynomial([one, 2 * one], [one, 0 * one], [(6, one, [one, one]), (3, one, [one, -one])])
    inst = PointInstance(prob, [sp.Rational(1, 2), sp.Integer(-1)], scalars={"rho": 0.1})
    ev = m.CLAIM.check(inst, builtin("rsp"), budget_for("quick"))
    assert ev.holds is True
    assert ev.values["remainder_lowest_order"] == 4
    assert ev.values["remainder_odd_terms"] == ["0"]
