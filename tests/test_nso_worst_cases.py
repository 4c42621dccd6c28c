"""The NSO claims' worst cases: the errata the default profile finds are found by quick on every
seed (the edge instance is hypothesis' first example), Theorem 4.3's bound is searched to where
it is tight (the paired oracle's edge runs: its ×½ mutant dies in quick), and a user's class runs
Theorem 4.3 from the steered start."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from flatcheck.impl import Implementation, builtin
from flatcheck.problems.nso_families import NSOInstance, edge_quadratic_runs, noisy_quadratic
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get
from flatcheck.verify.runner import run_claim


@pytest.mark.parametrize("claim_id", ["nso.lemmaB1", "nso.theorem4_5"])
@pytest.mark.parametrize("seed", range(4))
def test_quick_finds_the_erratum_on_every_seed(claim_id, seed):
    budget = dataclasses.replace(budget_for("quick", seed=seed), time_limit_s=8.0)
    res = run_claim(get(claim_id), budget, impl=builtin("nso"), catalog_size=60)
    assert res.verdict == "falsified", (res.reason, res.traceback)
    assert res.counterexample["holds"] is False


def test_edge_runs_are_valid_without_filters():
    seen = []

    @settings(max_examples=30, database=None, deadline=None)
    @given(edge_quadratic_runs({"T": st.just(16)}))
    def collect(inst: NSOInstance) -> None:
        seen.append(inst)

    collect()
    for inst in seen:
        assert inst.problem.d == 1 and abs(inst.w0[0]) == 8 and inst.sigma2 > 0
        assert inst.C == float(inst.problem.known["A"][0, 0])
    # hypothesis' simplest example: the smallest C, where (29)'s printed 2C·D² is farthest off.
    assert min(inst.C for inst in seen) == 0.125


def _edge(k: int = 1, steps: int = 64, oracle: str = "paired") -> NSOInstance:
    prob = noisy_quadratic([sp.Rational(1, 8)], [sp.Integer(1)], [[sp.Integer(1)], [sp.Integer(-1)]])
    return NSOInstance(prob, [sp.Integer(8)], 0.0, k, "gaussian", {"T": steps}, oracle)


@pytest.mark.parametrize("profile, steps, low, high", [("quick", 16, 0.7, 0.9), ("default", 64, 0.8, 0.97)])
def test_theorem4_3_is_tight_at_the_edge_and_its_half_scale_fails_there(profile, steps, low, high):
    check = get("nso.theorem4_3").check
    budget = budget_for(profile, seed=1)
    ev = check(_edge(steps=steps), builtin("nso"), budget)
    # The paired oracle's step noise is σ²/k, the bound's: the ratio grows toward 1 with T
    # (0.81 at T = 16, 0.89 at 64), so the ×½ scale is exceeded in quick already.
    assert ev.holds and low < ev.values["tightness"] < high, ev.values["tightness"]
    half = dataclasses.replace(budget, constants={"scale": 0.5})
    assert check(_edge(steps=steps), builtin("nso"), half).holds is False


def test_theorem4_3_fresh_oracle_is_looser_than_the_paired_one():
    # A fresh example per evaluation halves the step noise: the ratio stays near 1/√2 (0.62 at T = 64).
    check, budget = get("nso.theorem4_3").check, budget_for("default", seed=1)
    fresh = check(_edge(oracle="fresh"), builtin("nso"), budget).values["tightness"]
    paired = check(_edge(), builtin("nso"), budget).values["tightness"]
    assert 0.5 < fresh < 0.75 < paired, (fresh, paired)


def test_theorem4_3_user_class_runs_the_steered_start_only():
    import broken_nso

    user = Implementation("broken_nso:ReferenceNSO", "nso", broken_nso.ReferenceNSO)
    ev = get("nso.theorem4_3").check(_edge(steps=16), user, budget_for("quick"))
    assert ev.holds
    assert len(ev.values["runs"]) == 1 and ev.values["runs"][0]["T"] == 16
    assert ev.values["w0_steered"] != ["8"]
