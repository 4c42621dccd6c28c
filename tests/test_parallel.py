"""Claims on several local processes give the same results as one after the other."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import strategies as st
from toy_claims import bound as _bound
from toy_claims import toy_claim

from flatcheck.cli import main
from flatcheck.verify import Evidence, verdict
from flatcheck.verify.parallel import can_fork
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.result import blank_result
from flatcheck.verify.runner import run_claim, run_claims

pytestmark = pytest.mark.skipif(not can_fork("cpu"), reason="local jobs fork; this platform cannot")


def _claim(name: str, check):
    return toy_claim(name, check, instances=lambda budget: st.integers(0, 10**6))


def _ok(x, impl, budget) -> Evidence:
    return Evidence.bound(0.0, float(x) + 1, 0.0)


def _die(x, impl, budget) -> Evidence:
    os._exit(3)  # a worker killed mid-claim (out of memory, a crash in native code)


def test_jobs_give_the_serial_results_in_any_order():
    claims = [_claim("fails", _bound), _claim("holds", _ok), _claim("fails2", _bound)]
    seen = []
    serial = run_claims(claims, profile="quick", seed=4, jobs=1)
    parallel = run_claims(claims, profile="quick", seed=4, jobs=2, on_result=seen.append)
    assert sorted(r.id for r in seen) == sorted(c.id for c in claims)

    def key(results):
        return {r.id: (r.verdict, r.counterexample, r.evidence, r.examples, r.reason) for r in results}

    assert key(parallel) == key(serial)
    assert key(serial)["toy.fails"][0] == "falsified"


def test_a_dead_worker_is_an_error_not_a_hang():
    out = run_claims([_claim("dies", _die), _claim("holds", _ok)], profile="quick", jobs=2)
    by_id = {r.id: r for r in out}
    assert by_id["toy.dies"].verdict == "error"
    assert by_id["toy.dies"].reason.startswith("the worker process running this claim failed")


def _results(path):
    doc = json.loads((path / "results.json").read_text())
    for r in doc["claims"]:
        r.pop("time_s")
    for key in ("wall_time_s", "started", "jobs", "cpu_time_s", "peak_rss_mib"):
        doc["provenance"].pop(key)
    return doc


def test_cli_jobs_equal_serial_and_record_the_cost(tmp_path):
    common = ["ahn2024.lemma1", "ahn2024.vt_norm", "dexter2024.sigma_range", "--profile", "quick", "--quiet"]
    # dexter2024.sigma_range is a paper's erratum, falsified as expected: the run is as expected.
    assert main(["verify", *common, "--jobs", "1", "--out", str(tmp_path / "one")]) == 0
    assert main(["verify", *common, "--jobs", "2", "--out", str(tmp_path / "two")]) == 0
    prov = json.loads((tmp_path / "two" / "results.json").read_text())["provenance"]
    assert prov["jobs"] == 2 and prov["cpu_time_s"] > 0 and prov["peak_rss_mib"] > 0
    assert "on 2 processes" in (tmp_path / "two" / "report.md").read_text()
    assert _results(tmp_path / "two") == _results(tmp_path / "one")


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", "2", "--workers", "2"]])
def test_bad_jobs_is_one_clear_error(tmp_path, capsys, argv):
    assert main(["verify", "ahn2024.vt_norm", "--quiet", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert "--jobs" in err and "Traceback" not in err


def _by_id(results):
    return {r.id: (r.verdict, r.counterexample, r.evidence, r.examples, r.passed, r.reason) for r in results}


def test_instance_batches_give_one_result_per_claim_whatever_runs_them():
    claims = [_claim("fails", _bound), _claim("holds", _ok)]
    budget = budget_for("thorough", seed=3)
    assert budget.batches == 4
    direct = [run_claim(c, budget) for c in claims]
    serial = run_claims(claims, profile="thorough", seed=3, jobs=1)
    forked = run_claims(claims, profile="thorough", seed=3, jobs=2)
    assert _by_id(direct) == _by_id(serial) == _by_id(forked)
    holds = _by_id(serial)["toy.holds"]
    assert holds[0] == "verified" and holds[3] == budget.max_examples  # 4 batches of 10 instances
    assert "in 4 instance batches" in holds[5]
    fails = _by_id(serial)["toy.fails"]
    assert fails[0] == "falsified" and "(instance batch " in fails[5]


def test_merge_takes_the_first_error_then_the_first_counterexample():
    claim = _claim("merged", _bound)
    budget = budget_for("thorough")
    parts = [run_claim(claim, budget, batch=j) for j in range(budget.batches)]
    for j, p in enumerate(parts):
        p.verdict = "verified" if j != 2 else "falsified"
    parts[3].verdict, parts[3].reason = "error", "boom"
    merged = verdict.merge(blank_result(claim, budget, None), parts)
    assert merged.verdict == "error" and merged.reason == "boom (instance batch 4 of 4)"
    parts[3].verdict = "verified"
    merged = verdict.merge(blank_result(claim, budget, None), parts)
    assert merged.verdict == "falsified" and merged.reason.endswith("(instance batch 3 of 4)")
    assert merged.examples == sum(p.examples for p in parts)


def test_bad_jobs_environment_variable_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLATCHECK_JOBS", "two")
    assert main(["verify", "ahn2024.vt_norm", "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "FLATCHECK_JOBS must be a positive number of processes, got 'two'" in err and "Traceback" not in err
