"""Declared constants and `flatcheck mutate`: a mutant of a tight statement is killed, one of a
loose statement survives with its tightness, and the output has its schema."""

from __future__ import annotations

import json

import pytest
from hypothesis import strategies as st

from flatcheck.cli import main
from flatcheck.impl import builtin
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant
from flatcheck.verify.mutate import run_mutants, summary
from flatcheck.verify.profiles import budget_for

RECORD_KEYS = {"claim", "constant", "printed", "mutated", "verdict", "tightness", "status", "baseline"}


def test_mutation_moves_each_kind_in_its_strengthening_direction():
    assert Constant("c", 0.5, "½", "smaller").mutated() == 0.25
    assert Constant("c", 2.0, "2", "larger").mutated() == 4.0
    assert Constant("p", 3, "O(ρ³)", "larger", mutation="order", step=1).mutated() == 4
    assert Constant("e", -0.5, "T^{-1/2}", "smaller", mutation="exponent", step=0.25).mutated() == -0.75
    assert Constant("h", 0.5, "½ρ²", "exact").mutated() == 1.0
    with pytest.raises(ValueError):
        Constant("c", 1.0, "1", "bigger")
    with pytest.raises(ValueError):
        Constant("c", 1.0, "1", "larger", step=1.0)


def test_constant_reads_the_budget_override_before_the_declaration():
    decl = (Constant("c", 0.5, "½", "smaller"),)
    assert constant(Budget(), decl, "c") == 0.5
    assert constant(Budget(constants={"c": 0.25}), decl, "c") == 0.25
    assert constant(Budget(), {"c": 3.0}, "c") == 3.0
    with pytest.raises(KeyError):
        constant(Budget(), decl, "d")


def test_budget_with_overrides_stays_hashable_and_distinct():
    a, b = Budget(), Budget(constants={"c": 0.25})
    assert hash(a) == hash(b) and a != b and len({a: 1, b: 2}) == 2


def _scaled_claim(name: str, printed: float) -> Claim:
    """x² ≤ C·x² over x ∈ [1, 2]: tight at C = 1, loose by the factor C above it."""
    decl = (Constant("C", printed, str(printed), "smaller"),)

    def check(x: float, impl: object, budget: Budget) -> Evidence:
        ev = Evidence.bound(x * x, constant(budget, decl, "C") * x * x, 1e-12)
        ev.values["tightness"] = x * x / (constant(budget, decl, "C") * x * x)
        return ev

    return Claim(
        id=f"toy.{name}",
        paper="toy",
        ref="test",
        kind="bound",
        statement="x^2 \\le Cx^2",
        summary=name,
        instances=lambda budget: st.floats(1, 2),
        check=check,
        constants=decl,
    )


def test_tight_constant_killed_loose_constant_survives_with_its_tightness():
    claims = [_scaled_claim("tight", 1.0), _scaled_claim("loose", 4.0)]
    recs = {r["claim"]: r for r in run_mutants(claims, budget_for("quick"), None, catalog_size=1)}
    assert recs["toy.tight"]["status"] == "killed" and recs["toy.tight"]["mutated"] == 0.5
    assert recs["toy.loose"]["status"] == "survived"
    assert recs["toy.loose"]["tightness"] == pytest.approx(0.5)
    assert summary(list(recs.values()))["kill_rate"] == 0.5


def test_claim_rejects_a_constant_declared_twice():
    with pytest.raises(ValueError):
        _scaled_claim("x", 1.0).__class__(
            **{**_scaled_claim("x", 1.0).__dict__, "constants": (Constant("C", 1, "1", "smaller"),) * 2}
        )


def test_mutating_a_real_claim_kills_its_constant(tmp_path):
    import flatcheck_theorems.ahn2024.lemma1 as lemma1

    recs = run_mutants([lemma1.CLAIM], budget_for("quick"), lambda c: builtin(c.algorithm), catalog_size=70)
    by_name = {r["constant"]: r for r in recs}
    assert set(by_name) == {"c_v", "c_grad"}
    assert by_name["c_v"]["baseline"] == "verified"
    assert by_name["c_v"]["status"] == "killed", by_name["c_v"]["reason"]


def test_cli_writes_mutants_json_and_table(tmp_path):
    rc = main(["mutate", "ahn2024.lemma1", "--profile", "quick", "--jobs", "1", "--quiet", "--out", str(tmp_path)])
    assert rc == 0
    doc = json.loads((tmp_path / "mutants.json").read_text())
    assert doc["profile"] == "quick" and doc["summary"]["mutants"] == len(doc["mutants"]) == 2
    for rec in doc["mutants"]:
        assert RECORD_KEYS <= set(rec), rec
        assert rec["claim"] == "ahn2024.lemma1"
    table = (tmp_path / "mutants.md").read_text()
    assert "| ahn2024.lemma1 | c_v |" in table and "killed" in table


def test_cli_refuses_a_selection_without_constants(capsys):
    assert main(["mutate", "ahn2024.def3", "--profile", "quick", "--out", "/tmp/unused-mutate"]) == 2
    assert "declares a constant" in capsys.readouterr().err


def test_show_lists_the_declared_constants(capsys):
    assert main(["show", "ahn2024.lemma1"]) == 0
    out = capsys.readouterr().out
    assert "c_v = 0.5" in out and "mutant 0.25" in out


def test_declared_constants_of_identities_steps_and_bounds_are_killed():
    """A sample of the ahn2024 and wen2023 claims that declare constants: every mutant is killed in
    quick (each of these statements is exact or tight on its instances)."""
    from flatcheck.verify.registry import all_claims

    ids = [
        "ahn2024.example1",
        "ahn2024.rsp_step",
        "ahn2024.setting1_hessian",
        "ahn2024.lemma5.corrected",
        "wen2023.sam_step",
        "wen2023.lemma57",
    ]
    claims = [all_claims()[i] for i in ids]

    def impl_for(c: Claim):
        return builtin(c.algorithm) if c.algorithm else None

    recs = run_mutants(claims, budget_for("quick"), impl_for, catalog_size=70)
    assert {r["claim"] for r in recs} == set(ids)
    alive = [(r["claim"], r["constant"], r["status"], r["reason"]) for r in recs if r["status"] != "killed"]
    assert not alive, alive


def test_ahn_theorem1_mutants_are_killed_never_verified():
    """Theorem 1's law, moved once each way that claims more: T = O(ε^{-2}δ^{-4}), O(ε^{-3}δ^{-3}), a
    probability O(δ²), C/2, c_T/2. On Example 1 the declared (c_T, C) is tight to within 2 at ε = 0.1
    (T near twice the first flat step), so every one is killed."""
    import flatcheck_theorems.ahn2024.theorem1 as theorem1

    recs = run_mutants([theorem1.CLAIM], budget_for("quick"), lambda c: builtin(c.algorithm), catalog_size=70)
    status = {r["constant"]: r["status"] for r in recs}
    assert all(r["baseline"] == "verified" for r in recs)
    assert set(status.values()) <= {"killed", "undecided"}, status
    for name in ("T_eps_exponent", "T_delta_exponent", "failure_exponent", "failure_constant", "T_constant"):
        assert status[name] == "killed", status
