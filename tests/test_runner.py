"""The runner never hangs, never lets one claim stop the others, and stops at once on bad input."""

from __future__ import annotations

import dataclasses
import threading
import time

from hypothesis import strategies as st
from toy_claims import bound as _bound
from toy_claims import toy_claim as _claim

from flatcheck.errors import NonFiniteError
from flatcheck.verify import Evidence
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import run_claim, run_claims


def _spin(x, impl, budget) -> Evidence:
    while True:  # a check that never returns
        x = (x * 3 + 1) % 7


def _crash(x, impl, budget) -> Evidence:
    return Evidence(holds=1 / (x - x) > 0)


def _nan(x, impl, budget) -> Evidence:
    raise NonFiniteError("the user's optimizer produced NaN or inf parameters after one step")


def test_hanging_check_is_inconclusive_time_not_a_hang():
    t0 = time.perf_counter()
    res = run_claim(_claim("spin", _spin), budget_for("quick", time_limit_s=0.5))
    assert time.perf_counter() - t0 < 20  # interrupted at twice the limit in CPU time, even on a loaded machine
    assert res.verdict == "inconclusive" and res.reason.startswith("time limit 0.5s")


def test_limit_holds_off_the_main_thread():
    def slow(x, impl, budget):
        time.sleep(0.3)
        return Evidence.bound(0.0, 1.0, 0.0)

    box = {}
    th = threading.Thread(
        target=lambda: box.update(res=run_claim(_claim("slow", slow), budget_for("default", time_limit_s=0.5)))
    )
    th.start()
    th.join(10)
    assert not th.is_alive()
    assert box["res"].verdict == "inconclusive" and box["res"].reason.startswith("time limit")


def test_timeout_while_shrinking_keeps_the_counterexample():
    def slow_bound(x, impl, budget):
        if x > 10:
            time.sleep(0.2)
        return _bound(x, impl, budget)

    res = run_claim(_claim("slowfail", slow_bound), budget_for("default", time_limit_s=0.4))
    assert res.verdict == "falsified"
    assert res.counterexample["values"]["lhs"] > 10


def test_crash_is_error_with_traceback_and_the_next_claim_still_runs():
    seen = []
    out = run_claims(
        [_claim("crash", _crash), _claim("ok", _bound), _claim("spin", _spin)],
        profile="quick",
        time_limit_s=0.5,
        on_result=seen.append,
    )
    assert [r.id for r in seen] == ["toy.crash", "toy.ok", "toy.spin"]
    assert out[0].verdict == "error" and "ZeroDivisionError" in out[0].reason and "Traceback" in out[0].traceback
    assert out[1].verdict == "falsified" and out[1].counterexample["values"]["lhs"] == 11.0
    assert out[2].verdict == "inconclusive"


def test_non_finite_values_stop_the_claim_with_one_clear_reason():
    calls = []

    def nan(x, impl, budget):
        calls.append(x)
        return _nan(x, impl, budget)

    res = run_claim(_claim("nan", nan), budget_for("quick"))
    assert res.verdict == "error" and "NaN or inf" in res.reason
    assert len(calls) == 1  # no shrinking on bad input
    assert res.counterexample["error"] == "NonFiniteError" and "instance" in res.counterexample


def test_example_database_replays_the_counterexample_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = []

    def recording(x, impl, budget):
        seen.append(x)
        return _bound(x, impl, budget)

    claim = _claim("db", recording)
    assert run_claim(claim, budget_for("quick"), use_database=True).verdict == "falsified"
    seen.clear()
    assert run_claim(claim, budget_for("quick", seed=99), use_database=True).verdict == "falsified"
    assert seen[0] == 11


def test_shrink_budget_is_a_count_so_a_seed_replays_the_same_counterexample():
    calls = []

    def recording(x, impl, budget):
        calls.append(x)
        return _bound(x, impl, budget)

    claim = _claim("wide", recording, instances=lambda budget: st.integers(0, 10**9))
    budget = budget_for("quick", seed=5)
    first = run_claim(claim, budget)
    n_first = len(calls)
    second = run_claim(claim, budget)
    assert first.verdict == second.verdict == "falsified"
    assert first.counterexample == second.counterexample and first.reason == second.reason
    assert len(calls) == 2 * n_first
    # No more than the budget's checks after the first failure (plus the one that stops shrinking).
    failed_at = next(i for i, x in enumerate(calls[:n_first]) if x > 10)
    assert n_first - failed_at - 1 <= budget.shrink_checks + 1


def test_reproduction_reports_its_first_failing_run_without_shrinking():
    calls = []

    def run(x, impl, budget):
        calls.append(x)
        return _bound(x, impl, budget)

    claim = dataclasses.replace(
        _claim("runs", run, instances=lambda budget: st.integers(0, 10**9)), kind="reproduction"
    )
    res = run_claim(claim, budget_for("quick"))
    assert res.verdict == "falsified" and "shrinking" not in res.reason
    assert calls[-1] > 10 and all(x <= 10 for x in calls[:-1])


def test_a_claim_caps_its_instances_by_profile():
    calls = []

    def ok(x, impl, budget):
        calls.append(x)
        return Evidence.bound(0.0, 1.0, 0.0)

    claim = dataclasses.replace(_claim("capped", ok), max_examples=(1, 2, 40))
    assert run_claim(claim, budget_for("quick")).examples == 1
    assert run_claim(claim, budget_for("default")).examples == 2
    assert len(calls) == 3
