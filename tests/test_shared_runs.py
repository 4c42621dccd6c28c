"""Work a check of a user's class does once: its runs shared by the claims of one `flatcheck check`
(across forked workers, computed under a lock), and the built-in control runs kept on disk."""

from __future__ import annotations

import multiprocessing
import os
import threading

import sympy as sp
import torch
from broken_sam import ReferenceSAM

from flatcheck import cache
from flatcheck.impl import Implementation, builtin, protocol
from flatcheck.impl.dynamics import control_runs, iterates_at, run_key, shared_iterates_at
from flatcheck.impl.shared import SCOPE_ENV, scope, shared, shared_all
from flatcheck.problems import quadratic, wen_toy

R = sp.Rational

X0 = torch.tensor([[0.75, 0.25, -0.125, -0.25]] * 2, dtype=torch.float64)
HP = {"lr": 0.01, "rho": 0.2}
HALF = {"lr": 0.005, "rho": 0.1}


def _counter():
    calls = []

    def compute():
        calls.append(1)
        return torch.tensor([float(len(calls))])

    return calls, compute


def test_outside_a_scope_every_call_computes():
    assert SCOPE_ENV not in os.environ
    calls, compute = _counter()
    shared("k", compute), shared("k", compute)
    assert len(calls) == 2


def test_in_a_scope_a_key_is_computed_once_and_the_folder_is_removed():
    calls, compute = _counter()
    with scope() as folder:
        assert shared("k", compute) == 1 and shared("k", compute) == 1 and len(calls) == 1
        assert shared("other", compute) == 2 and len(calls) == 2
    assert not folder.exists() and SCOPE_ENV not in os.environ


def _compute_in_child(started, release, key: str = "k", value: str = "from the child") -> None:
    """In a forked worker: compute the entry `key`, holding its lock until `release` is set."""

    def compute():
        started.set()
        release.wait(10)
        return value

    shared(key, compute)


def test_a_worker_waits_for_the_run_another_worker_is_computing():
    ctx = multiprocessing.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    calls, compute = _counter()
    with scope():
        child = ctx.Process(target=_compute_in_child, args=(started, release))
        child.start()
        assert started.wait(10)
        # The child holds the entry's lock until released: the call below blocks on it meanwhile.
        threading.Timer(0.2, release.set).start()
        assert shared("k", compute) == "from the child" and not calls
        child.join(10)
        assert child.exitcode == 0


def test_shared_all_computes_a_free_entry_while_another_worker_holds_one():
    ctx = multiprocessing.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    order: list[str] = []

    def compute(name: str):
        def run():
            order.append(name)
            release.set()  # only now may the child finish "a"
            return name

        return run

    with scope():
        child = ctx.Process(target=_compute_in_child, args=(started, release, "a", "a"))
        child.start()
        assert started.wait(10)
        assert shared_all([("a", compute("a")), ("b", compute("b"))]) == ["a", "b"]
        child.join(10)
    # "a" was the child's (read, never computed here); "b" was computed while "a" was held.
    assert order == ["b"] and child.exitcode == 0


def _steps(monkeypatch) -> list[int]:
    taken: list[int] = []
    step = protocol.Chains.step

    def counted(self, *args, **kwargs):
        taken.append(1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(protocol.Chains, "step", counted)
    return taken


def test_a_users_run_is_read_by_the_next_claim_bit_for_bit(monkeypatch):
    user = Implementation("broken_sam:ReferenceSAM", "sam_stochastic", ReferenceSAM)
    plain = iterates_at(user, wen_toy(), X0, HP, [0, 4, 8], 3)
    taken = _steps(monkeypatch)
    with scope():
        (first,) = shared_iterates_at(user, wen_toy(), X0.clone(), [(HP, [0, 4, 8])], 3)
        assert len(taken) == 2 * 8  # each of X0's 2 chains run on its own (`Chains` with row)
        # Another claim: its own problem object and start tensor, equal values: read, not stepped;
        # a ladder with one more rung steps that rung only.
        again, rung = shared_iterates_at(user, wen_toy(), X0.clone(), [(dict(HP), [0, 4, 8]), (HALF, [0, 2])], 3)
        assert len(taken) == 2 * (8 + 2) and torch.equal(first, again) and torch.equal(first, plain)
        # Another seed, another start, other steps or another class: computed.
        shared_iterates_at(user, wen_toy(), X0, [(HP, [0, 4, 8])], 4)
        shared_iterates_at(user, wen_toy(), X0 + 2**-20, [(HP, [0, 4, 8])], 3)
        shared_iterates_at(user, wen_toy(), X0, [(HP, [0, 4, 9])], 3)
        other = Implementation("x:GuardedSAM", "sam_stochastic", ReferenceSAM)
        shared_iterates_at(other, wen_toy(), X0, [(HP, [0, 4, 8])], 3)
        assert len(taken) == 2 * (10 + 8 + 8 + 9 + 8)
    assert torch.equal(rung, iterates_at(user, wen_toy(), X0, HALF, [0, 2], 3))


def test_builtin_runs_are_not_shared(monkeypatch):
    taken = _steps(monkeypatch)
    with scope() as folder:
        shared_iterates_at(builtin("sam_stochastic"), wen_toy(), X0, [(HP, [0, 3])], 0)
        shared_iterates_at(builtin("sam_stochastic"), wen_toy(), X0, [(HP, [0, 3])], 0)
        assert len(taken) == 6 and not any(folder.iterdir())


def test_control_runs_are_kept_on_disk_by_their_key(monkeypatch):
    calls, compute = _counter()
    key = {"claim": "test", "x_init": [0.5, 0.25], "seed": 7}
    hits = cache.STATS["control:hit"]
    assert control_runs(key, compute) == 1 and control_runs(dict(key), compute) == 1 and len(calls) == 1
    assert cache.STATS["control:hit"] == hits + 1
    assert control_runs({**key, "seed": 8}, compute) == 2
    monkeypatch.setenv(cache.OFF_ENV, "1")
    assert control_runs(key, compute) == 3


def test_run_key_names_the_algorithm_and_the_problem():
    # A SAM class checked as full-batch and as stochastic SAM: two adapters, two different runs.
    full, stoch = (Implementation("broken_sam:ReferenceSAM", k, ReferenceSAM) for k in ("sam", "sam_stochastic"))
    assert run_key(full, wen_toy(), X0, HP, 0) != run_key(stoch, wen_toy(), X0, HP, 0)
    assert run_key(full, wen_toy(), X0, HP, 0) == run_key(full, wen_toy(), X0.clone(), dict(HP), 0)
    other = quadratic([R(1), R(2), R(3), R(4)], [R(1), R(0), R(0), R(0)])
    assert run_key(full, other, X0, HP, 0) != run_key(full, wen_toy(), X0, HP, 0)


def test_check_runs_its_claims_in_one_scope(monkeypatch):
    from flatcheck import cli

    seen: dict = {}

    def run(*args, **kwargs) -> int:
        seen["folder"] = os.environ.get(SCOPE_ENV)
        seen["exists"] = seen["folder"] is not None and os.path.isdir(seen["folder"])
        return 0

    monkeypatch.setattr(cli, "_run", run)
    assert cli.main(["check", "broken_sam:ReferenceSAM", "--claims", "wen2023.theorem11", "--quiet"]) == 0
    assert seen["exists"] and SCOPE_ENV not in os.environ and not os.path.exists(seen["folder"])
