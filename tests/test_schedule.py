"""What a machine's worker processes do besides the claims: they start the longest first, by the
times the last run recorded (the order changes when claims finish, never what they find); they
inherit the heap frozen; with the cache on, they draw each result's images for the report."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest
from hypothesis import strategies as st
from toy_claims import toy_claim

from flatcheck import cache
from flatcheck.verify import Evidence, schedule
from flatcheck.verify.parallel import can_fork, map_forked
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import Task, run_claims


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path))
    monkeypatch.delenv(cache.OFF_ENV, raising=False)


def _ok(x, impl, budget) -> Evidence:
    return Evidence.bound(0.0, float(x) + 1, 0.0)


def _tasks(names: list[str], capped: tuple[str, ...] = (), profile: str = "quick") -> list[Task]:
    budget = budget_for(profile)
    claims = [toy_claim(n, _ok, instances=lambda b: st.integers(0, 9)) for n in names]
    claims = [replace(c, max_examples=(2, 2, 2)) if c.id[4:] in capped else c for c in claims]
    return [Task(c, budget, None, len(claims)) for c in claims]


def test_the_longest_recorded_claim_starts_first_and_an_untimed_one_before_it(store):
    tasks = _tasks(["a", "b", "c", "new"])
    schedule.record(tasks[0].budget, {"toy.a": 0.5, "toy.b": 3.0, "toy.c": 1.0})
    assert schedule.longest_first(tasks) == [3, 1, 2, 0]
    # Another profile keeps its own record: none yet, so the fallback order there.
    assert schedule.expected_times(budget_for("default")) == {}


def test_a_claim_is_timed_per_implementation(store):
    class Mine:
        name = "mine:SAM"

    a, b = _tasks(["a", "b"])
    theirs = [replace(t, claim=replace(t.claim, algorithm="sam"), impl=Mine()) for t in (a, b)]
    times = {"toy.a": 9.0, "toy.b": 1.0, schedule.key("toy.a", Mine.name): 1.0, schedule.key("toy.b", Mine.name): 9.0}
    schedule.record(a.budget, times)
    assert schedule.longest_first([a, b]) == [0, 1]
    assert schedule.longest_first(theirs) == [1, 0]


def test_without_a_record_claims_that_cap_their_instances_start_first(store):
    tasks = _tasks(["a", "b", "c"], capped=("c",))
    assert schedule.longest_first(tasks) == [2, 0, 1]


def test_a_run_records_its_claims_times_and_keeps_the_others(store):
    budget = budget_for("quick")
    schedule.record(budget, {"toy.gone": 9.0, "toy.a": 7.0})
    out = run_claims([t.claim for t in _tasks(["a", "b"])], profile="quick")
    times = schedule.expected_times(budget)
    assert times["toy.gone"] == 9.0
    assert {k: round(v, 3) for k, v in times.items() if k != "toy.gone"} == {r.id: round(r.time_s, 3) for r in out}


def test_no_cache_reads_and_writes_no_record(store, monkeypatch):
    budget = budget_for("quick")
    schedule.record(budget, {"toy.a": 1.0})
    monkeypatch.setenv(cache.OFF_ENV, "1")
    assert schedule.expected_times(budget) == {}
    schedule.record(budget, {"toy.b": 1.0})
    monkeypatch.delenv(cache.OFF_ENV)
    assert schedule.expected_times(budget) == {"toy.a": 1.0}


def test_an_unreadable_record_is_the_fallback_order(store):
    budget = budget_for("quick")
    schedule.record(budget, {"toy.a": 1.0})
    schedule._path(budget).write_text("{not json")
    assert schedule.expected_times(budget) == {}
    assert schedule.longest_first(_tasks(["a", "b"], capped=("b",))) == [1, 0]


def _frozen(i: int) -> int:
    return gc.get_freeze_count()


@pytest.mark.skipif(not can_fork("cpu"), reason="local jobs fork; this platform cannot")
def test_workers_inherit_the_heap_frozen_and_the_parent_does_not_keep_it_so():
    before = gc.get_freeze_count()
    got = dict(map_forked(_frozen, [0, 1], 2))
    assert all(n > 0 for n in got.values())  # the worker's cycle collector skips what it inherited
    assert gc.get_freeze_count() == before == 0


def _plotted(x, impl, budget) -> Evidence:
    return Evidence(True, {"x": x}, margin=1.0, plot=SPEC)


SPEC = {"type": "scatter", "x": [1.0, 2.0, 4.0], "y": [0.5, 0.25, 0.126], "logx": True, "logy": True}


@pytest.mark.skipif(not can_fork("cpu"), reason="local jobs fork; this platform cannot")
def test_workers_draw_the_reports_images_into_the_cache(store):
    from flatcheck.cli import _draw_result_plots
    from flatcheck.report import latex, png
    from flatcheck.verify.runner import Forked

    claims = [toy_claim(n, _plotted, instances=lambda b: st.integers(0, 9)) for n in ("p", "q")]
    run_claims(claims, profile="quick", executor=Forked(2, after=_draw_result_plots))
    png._render_cached.cache_clear()
    latex.svg_data_uri.cache_clear()
    cache.STATS.clear()
    assert png.render_png(SPEC).startswith("iVBOR")  # a PNG, read back: this process drew nothing
    assert cache.STATS == {"plots:hit": 1}
    assert list(latex.cache_dir().glob("*.svg"))  # the claims' statement too
