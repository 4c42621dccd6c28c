"""benchmarks/catalog.py's comparison of a run against the last recorded one (synthetic records, no catalog run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "catalog_bench", Path(__file__).resolve().parents[1] / "benchmarks" / "catalog.py"
)
catalog = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = catalog  # dataclasses look their module up while the class is built
_spec.loader.exec_module(catalog)


def _claim(cid: str, time_s: float, verdict: str = "verified", margin: float | None = 0.5) -> dict:
    return {
        "id": cid,
        "kind": "identity",
        "time_s": time_s,
        "verdict": verdict,
        "examples": 10,
        "tightness": 0.9,
        "evidence": {"margin": margin, "values": {}},
        "counterexample": {"margin": -0.25, "values": {}} if verdict == "falsified" else None,
    }


def _mutant(cid: str, status: str) -> dict:
    return {"claim": cid, "status": status}


def test_record_of_counts_mutants_per_claim_and_reads_the_margin_of_the_deciding_record():
    results = {"claims": [_claim("a", 1.0), _claim("b", 2.0, "falsified")]}
    mutants = {
        "mutants": [
            _mutant("a", "killed"),
            _mutant("a", "survived"),
            _mutant("a", "baseline-not-verified"),
            _mutant("b", "undecided"),
            _mutant("gone.claim", "killed"),
        ]
    }
    rec = catalog.record_of(results, mutants)
    assert rec["a"]["mutants_killed"] == 1 and rec["a"]["mutants_decided"] == 2 and rec["a"]["mutants"] == 3
    assert rec["b"]["mutants_killed"] == 0 and rec["b"]["mutants_decided"] == 0
    assert rec["a"]["margin"] == 0.5 and rec["b"]["margin"] == -0.25
    assert set(rec) == {"a", "b"}
    assert "mutants_killed" not in catalog.record_of(results, None)["a"]


def test_compare_flags_slowdowns_verdict_changes_lost_kills_and_lost_claims_only():
    last_results = {
        "claims": [_claim("same", 1.0), _claim("slow", 1.0), _claim("jitter", 0.2), _claim("flip", 1.0)]
        + [_claim("weaker", 1.0), _claim("removed", 1.0)]
    }
    last_mutants = {"mutants": [_mutant("weaker", "killed"), _mutant("weaker", "killed"), _mutant("same", "killed")]}
    now_results = {
        "claims": [_claim("same", 1.4), _claim("slow", 1.6), _claim("jitter", 0.6), _claim("flip", 0.5, "falsified")]
        + [_claim("weaker", 0.9), _claim("new", 3.0)]
    }
    now_mutants = {"mutants": [_mutant("weaker", "killed"), _mutant("weaker", "survived"), _mutant("same", "killed")]}
    rows = catalog.compare(catalog.record_of(now_results, now_mutants), catalog.record_of(last_results, last_mutants))
    flags = {r.claim: r.flags for r in rows}
    # 1.6 s against 1.0 s: over 1.5× and over 0.5 s; 0.6 s against 0.2 s is 3× but only 0.4 s.
    assert flags == {
        "new": [],
        "slow": ["slower"],
        "same": [],
        "weaker": ["fewer kills"],
        "jitter": [],
        "flip": ["verdict"],
        "removed": ["gone"],
    }
    assert [r.claim for r in rows][:2] == ["new", "slow"]  # slowest first, lost claims last
    text = catalog.table(rows, "quick")
    assert "1/2" in text and "2/2" in text and "fewer kills" in text


def test_compare_does_not_flag_kills_when_either_run_did_not_mutate():
    last = catalog.record_of({"claims": [_claim("a", 1.0)]}, {"mutants": [_mutant("a", "killed")]})
    now = catalog.record_of({"claims": [_claim("a", 1.0)]}, None)
    assert [r.flags for r in catalog.compare(now, last)] == [[]]
