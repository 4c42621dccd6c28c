"""Runs claims: draws admissible instances with hypothesis, checks them, shrinks failures.

Every instance's check gets a seed derived from the run seed and the instance itself, so a
check is a deterministic function of its instance: hypothesis can shrink a counterexample
without the Monte Carlo draws changing under it, and the same seed replays the same result —
on one machine or spread over many workers, in any order.

Time limits: a claim gets `budget.time_limit_s` seconds of CPU time (and, as a backstop for a check
blocked without using the CPU, WALL_FACTOR times that in wall-clock time), checked between
instances. In the main thread timers (SIGPROF, SIGALRM) also interrupt a check still running at
HARD_FACTOR times the limit (a Python loop that never ends, a slow
torch op once it returns); the interruption is a BaseException so that hypothesis propagates it at
once instead of shrinking it as a failure. Elsewhere (worker threads of a Dask cluster) the limit
is enforced between instances.
A claim past its limit is `inconclusive` with a reason that starts with "time limit"; a check that
crashes is `error` with its traceback; neither stops the claims after it.
"""

from __future__ import annotations

import hashlib
import json
import math
import signal
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import hypothesis
import sympy
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Unsatisfiable

from flatcheck.errors import FlatcheckError
from flatcheck.stats import CATALOG_ALPHA
from flatcheck.verify import batches, parallel
from flatcheck.verify.claim import Budget, Claim, Evidence
from flatcheck.verify.profiles import budget_for


class _Counterexample(Exception):
    def __init__(self, instance: Any, evidence: Evidence, description: dict[str, Any]):
        super().__init__("counterexample")
        self.instance = instance
        self.evidence = evidence
        self.description = description


class _ShrinkDone(BaseException):
    """The shrink budget is spent: report the smallest counterexample found so far, now."""


class ClaimTimeout(BaseException):
    """The claim's time limit fired inside a check (see the module docstring)."""


class _Abort(BaseException):
    """Bad input met inside a check (a FlatcheckError: protocol, NaN/inf): stop the claim at once,
    no shrinking — the message names the problem, the instance says where it showed."""

    def __init__(self, error: FlatcheckError, description: dict[str, Any]):
        super().__init__(str(error))
        self.error = error
        self.description = description


# A check blocked without using the CPU (a deadlock, a wait) is stopped after this multiple of the
# limit in wall-clock time; otherwise the limit counts CPU seconds, so that a machine loaded by other
# work does not turn slow-but-healthy claims inconclusive.
WALL_FACTOR = 5.0
# The limit is checked between instances; a check still running at this multiple of it is
# interrupted (a slow instance may finish, a hanging one may not).
HARD_FACTOR = 2.0


class Deadline:
    """The cooperative form of the limit: CPU seconds of this thread, with the wall-clock backstop."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.cpu0 = time.thread_time()
        self.wall0 = time.perf_counter()

    def passed(self) -> bool:
        cpu = time.thread_time() - self.cpu0
        return cpu > self.seconds or time.perf_counter() - self.wall0 > WALL_FACTOR * self.seconds


@contextmanager
def hard_time_limit(seconds: float) -> Iterator[bool]:
    """Raise ClaimTimeout in the main thread after `seconds` of process CPU time (SIGPROF) or
    WALL_FACTOR × `seconds` of wall-clock time (SIGALRM); yields whether the timers are armed.

    Not armed off the main thread, where signals cannot be delivered, nor when someone else
    (e.g. pytest-timeout, a profiler) already owns either signal."""
    sigs = (signal.SIGPROF, signal.SIGALRM) if hasattr(signal, "setitimer") else ()
    usable = sigs and threading.current_thread() is threading.main_thread()
    if not usable or any(signal.getsignal(s) not in (signal.SIG_DFL, signal.SIG_IGN, None) for s in sigs):
        yield False
        return
    armed = [True]

    def on_alarm(signum: int, frame: Any) -> None:
        if armed[0]:
            armed[0] = False
            raise ClaimTimeout()

    previous = {s: signal.signal(s, on_alarm) for s in sigs}
    signal.setitimer(signal.ITIMER_PROF, max(seconds, 1e-3))
    signal.setitimer(signal.ITIMER_REAL, max(WALL_FACTOR * seconds, 1e-3))
    try:
        yield True
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass
class ClaimResult:
    id: str
    paper: str
    kind: str
    ref: str
    summary: str
    verdict: str
    reason: str
    impl: str | None
    examples: int = 0
    passed: int = 0
    undecided: int = 0
    out_of_scope: int = 0
    time_s: float = 0.0
    evidence: dict[str, Any] | None = None
    counterexample: dict[str, Any] | None = None
    traceback: str | None = None
    replay: str = ""
    derivation: str | None = None
    statement: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    try:
        f = float(x)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(x)


def instance_seed(run_seed: int, description: dict[str, Any]) -> int:
    blob = json.dumps(_jsonable(description), sort_keys=True).encode() + str(run_seed).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def _evidence_json(inst_desc: dict[str, Any], ev: Evidence) -> dict[str, Any]:
    return _jsonable(
        {
            "instance": inst_desc,
            "holds": ev.holds,
            "margin": ev.margin,
            "values": ev.values,
            "note": ev.note,
            "plot": ev.plot,
        }
    )


def derivation_text(obj: Any) -> str:
    """What derive() returned, pretty-printed by sympy (2-D unicode); a dict one entry per block."""
    if isinstance(obj, dict):
        return "\n\n".join(f"{k}:\n" + textwrap.indent(_pretty(v), "  ") for k, v in obj.items())
    return _pretty(obj)


def _pretty(v: Any) -> str:
    if isinstance(v, str):
        return v
    try:
        return sympy.pretty(v, use_unicode=True, wrap_line=False)
    except Exception:  # not a sympy object sympy can lay out: its plain text will do
        return str(v)


def replay_command(claim: Claim, budget: Budget, impl: Any) -> str:
    """The one-line command that reruns this claim with the same seed and profile."""
    impl_name = getattr(impl, "name", None) if claim.algorithm else None
    if impl_name and impl is not None and not getattr(impl, "builtin", False):
        return f"flatcheck check {impl_name} --claims {claim.id} --seed {budget.seed} --profile {budget.profile}"
    return f"flatcheck verify {claim.id} --seed {budget.seed} --profile {budget.profile}"


def blank_result(claim: Claim, budget: Budget, impl: Any) -> ClaimResult:
    """The record of a claim before it is decided (verdict `error` until something better is known)."""
    return ClaimResult(
        id=claim.id,
        paper=claim.paper,
        kind=claim.kind,
        ref=claim.ref,
        summary=claim.summary,
        verdict="error",
        reason="",
        impl=getattr(impl, "name", None) if claim.algorithm else None,
        replay=replay_command(claim, budget, impl),
        statement=claim.statement,
    )


def lost_result(claim: Claim, budget: Budget, impl: Any, error: BaseException, where: str) -> ClaimResult:
    """The record of a claim whose run never came back (its worker process died, a task was lost)."""
    res = blank_result(claim, budget, impl)
    res.reason = f"{where} running this claim failed: {type(error).__name__}: {error}"
    res.traceback = "".join(traceback.format_exception(error))
    return res


def impl_of(claim: Claim, impl_for: Callable[[Claim], Any] | None) -> Any:
    """The implementation a claim runs against: only claims that exercise an algorithm get one."""
    return impl_for(claim) if (impl_for and claim.algorithm) else None


def run_claim(
    claim: Claim,
    budget: Budget,
    impl: Any = None,
    catalog_size: int = 1,
    use_database: bool = False,
    batch: int | None = None,
) -> ClaimResult:
    """Check one claim within its budget; never raises for a failing, crashing or hanging check.
    With `batch`, only that instance batch of the claim (`flatcheck.verify.batches`); without, all
    of them, merged.

    KeyboardInterrupt is the one exception that passes through (the caller keeps what finished)."""
    if batch is None and budget.batches > 1:
        parts = [run_claim(claim, budget, impl, catalog_size, use_database, j) for j in range(budget.batches)]
        return batches.merge(blank_result(claim, budget, impl), parts)
    t0 = time.perf_counter()
    result = blank_result(claim, budget, impl)
    counts = {"examples": 0, "passed": 0, "undecided": 0, "out_of_scope": 0, "shrink_checks": 0}
    found: list[_Counterexample] = []
    best: dict[str, Any] = {}
    run = batches.batch_budget(budget, batch)
    try:
        with hard_time_limit(HARD_FACTOR * run.time_limit_s):
            _decide(claim, budget, run, impl, catalog_size, use_database, result, counts, found, best)
    except ClaimTimeout:
        _timed_out(claim, run, result, counts, found)
    result.examples = counts["examples"]
    result.passed = counts["passed"]
    result.undecided = counts["undecided"]
    result.out_of_scope = counts["out_of_scope"]
    result.evidence = best.get("evidence")
    result.time_s = time.perf_counter() - t0
    return result


def _timed_out(
    claim: Claim, budget: Budget, result: ClaimResult, counts: dict[str, int], found: list[_Counterexample]
) -> None:
    if found:
        # Out of time while shrinking: the smallest genuine counterexample so far still falsifies.
        _falsified(claim, result, found[-1], "; shrinking stopped at the time limit")
        return
    result.verdict = "inconclusive"
    result.reason = f"time limit {budget.time_limit_s:g}s reached after {counts['examples']} instances"
    if counts["passed"]:
        result.reason += f" ({counts['passed']} passed, none failed)"


def _falsified(claim: Claim, result: ClaimResult, cx: _Counterexample, suffix: str = "") -> None:
    result.verdict = "falsified"
    result.counterexample = _evidence_json(claim.describe(cx.instance), cx.evidence)
    result.reason = (cx.evidence.note or "conclusion violated beyond numerical and statistical error") + suffix


def _decide(
    claim: Claim,
    budget: Budget,
    run: Budget,
    impl: Any,
    catalog_size: int,
    use_database: bool,
    result: ClaimResult,
    counts: dict[str, int],
    found: list[_Counterexample],
    best: dict[str, Any],
) -> None:
    """Derive, draw, check and shrink; writes the verdict into `result`. `run` is the budget of this
    instance batch (its hypothesis seed and time limit); instance seeds come from the run seed."""
    examples = budget.max_examples
    if claim.max_examples:
        examples = min(examples, budget.scaled(*claim.max_examples))
    per_batch = -(-examples // budget.batches)
    # Bonferroni over the catalog and over the instances of this claim, all batches (DESIGN.md: ≤ 1e-3).
    per_instance = replace(budget, alpha=CATALOG_ALPHA / max(catalog_size, 1) / (per_batch * budget.batches))
    # A reproduction's instance is a start or a seed for whole training runs: a "smaller" one is no
    # simpler a counterexample, and each shrink candidate costs the runs again. Report the first.
    shrinks = budget.shrink_checks if claim.kind != "reproduction" else 0
    notes: list[str] = []
    deadline = Deadline(run.time_limit_s)
    try:
        if claim.derive is not None:
            result.derivation = derivation_text(claim.derive())
    except Exception:
        result.verdict, result.reason = "error", "derive() crashed"
        result.traceback = traceback.format_exc()
        return

    def prop(inst: Any) -> None:
        if deadline.passed():
            # The cooperative limit, for threads where the timers cannot be armed.
            raise ClaimTimeout()
        if found:
            counts["shrink_checks"] += 1
            if counts["shrink_checks"] > shrinks:
                # The shrink budget is spent (every candidate re-runs the check; a smaller
                # counterexample is nicer, not truer). Stop at once — unless the example database is
                # on: hypothesis saves the smallest failure only when it ends normally, so candidates
                # then pass unchecked until it replays that failure, answered from the record.
                if not use_database:
                    raise _ShrinkDone()
                desc = claim.describe(inst)
                for cx in reversed(found):
                    if cx.description == desc:
                        raise cx
                return
        for a in claim.assumptions:
            if not a.holds(inst):
                counts["out_of_scope"] += 1
                assume(False)
        desc = claim.describe(inst)
        b = replace(per_instance, seed=instance_seed(budget.seed, desc))
        try:
            ev = claim.check(inst, impl, b)
        except FlatcheckError as e:
            raise _Abort(e, desc) from e
        if ev.out_of_scope:
            counts["out_of_scope"] += 1
            assume(False)
        counts["examples"] += 1
        if ev.holds is False:
            found.append(_Counterexample(inst, ev, desc))
            raise found[-1]
        if ev.holds is None:
            counts["undecided"] += 1
            notes.append(ev.note)
            return
        counts["passed"] += 1
        m = ev.margin if ev.margin is not None else math.inf
        if not best or m < best["margin_key"]:
            best.update(margin_key=m, evidence=_evidence_json(desc, ev))

    if use_database:
        # Hypothesis keys its example database by the test function, and `prop` is the same function
        # for every claim: add the claim, implementation and profile so each has its own entry.
        key = f"{claim.id}|{getattr(impl, 'name', None)}|{budget.profile}"
        prop._hypothesis_internal_add_digest = key.encode()  # type: ignore[attr-defined]
    test = given(claim.instances(budget))(prop)
    test = settings(
        max_examples=per_batch,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
        phases=[p for p in Phase if p is not Phase.explain and (shrinks or p is not Phase.shrink)],
    )(test)
    test = hypothesis.seed(run.seed)(test)
    if use_database:
        # hypothesis.seed switches the example database off; put it back so that a counterexample
        # found once is replayed first next time, and new instances still come from the seed.
        db = hypothesis.database.DirectoryBasedExampleDatabase(".hypothesis/examples")
        test._hypothesis_internal_use_settings = settings(test._hypothesis_internal_use_settings, database=db)
    try:
        test()
        if counts["passed"] == 0:
            result.verdict = "inconclusive"
            why = notes[0] if notes else "no admissible instance was decided"
            result.reason = f"no instance decided ({counts['undecided']} undecided): {why}"
        else:
            result.verdict = "verified"
            result.reason = f"{counts['passed']} admissible instances passed"
            if counts["undecided"]:
                result.reason += f"; {counts['undecided']} undecided ({notes[0]})"
    except (_Counterexample, _ShrinkDone) as stop:
        cx = stop if isinstance(stop, _Counterexample) else found[-1]
        stopped = shrinks and counts["shrink_checks"] > shrinks
        _falsified(claim, result, cx, f"; shrinking stopped after {shrinks} checks" if stopped else "")
    except Unsatisfiable:
        result.verdict = "inconclusive"
        result.reason = "no admissible instance found within budget (all drawn instances were out of scope)"
    except _Abort as ab:
        result.verdict, result.reason = "error", str(ab.error)
        result.counterexample = _jsonable({"instance": ab.description, "error": type(ab.error).__name__})
        result.traceback = "".join(traceback.format_exception(ab.error))
    except FlatcheckError as e:
        result.verdict, result.reason = "error", str(e)
        result.traceback = traceback.format_exc()
    except hypothesis.errors.Flaky:
        if deadline.passed():
            # The time limit fired while hypothesis was drawing an instance; hypothesis then sees the
            # interrupted draw as a flaky strategy. It is the time limit, not a crash.
            raise ClaimTimeout() from None
        result.verdict, result.reason = "error", "hypothesis reported a flaky strategy or check"
        result.traceback = traceback.format_exc()
    except Exception as e:  # the implementation or the check crashed: keep the traceback
        result.verdict, result.reason = "error", f"{type(e).__name__}: {e}"
        result.traceback = traceback.format_exc()


def run_claims(
    claims: list[Claim],
    profile: str = "default",
    seed: int = 0,
    device: str = "cpu",
    impl_for: Callable[[Claim], Any] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    catalog_size: int | None = None,
    time_limit_s: float | None = None,
    jobs: int = 1,
) -> list[ClaimResult]:
    """Run claims, handing each result to `on_result` as soon as it is decided: one after the other
    in this process, or on `jobs` forked worker processes (`flatcheck.verify.parallel`), where
    results come in the order they finish."""
    budget = budget_for(profile, seed=seed, device=device, time_limit_s=time_limit_s)
    n = catalog_size or len(claims)
    todo = batches.tasks(len(claims), budget)

    def run_task(t: int) -> ClaimResult:
        i, batch = todo[t]
        return run_claim(claims[i], budget, impl=impl_of(claims[i], impl_for), catalog_size=n, batch=batch)

    jobs = min(jobs, len(todo))
    if jobs > 1 and parallel.can_fork(device):
        # Claims that cap their instances are made of training runs, the slowest: start them first
        # so that no core idles at the end waiting for one of them.
        order = sorted(range(len(todo)), key=lambda t: claims[todo[t][0]].max_examples is None)
        results: Iterator[tuple[int, Any]] = parallel.map_forked(run_task, order, jobs)
    else:
        results = ((t, run_task(t)) for t in range(len(todo)))
    return collect(claims, todo, results, budget, impl_for, on_result, "the worker process")


def collect(
    claims: list[Claim],
    todo: list[batches.Task],
    results: Iterable[tuple[int, Any]],
    budget: Budget,
    impl_for: Callable[[Claim], Any] | None,
    on_result: Callable[[ClaimResult], None] | None,
    where: str,
) -> list[ClaimResult]:
    """Claims' results from their tasks' (task index, result or the exception that lost it), in
    any order: batches merged per claim, each claim handed to `on_result` once complete."""
    merger = batches.Merger(budget.batches)
    out = []
    for t, res in results:
        i, batch = todo[t]
        impl = impl_of(claims[i], impl_for)
        if isinstance(res, BaseException):
            res = lost_result(claims[i], budget, impl, res, where)
        res = merger.add(i, batch, res, blank_result(claims[i], budget, impl))
        if res is None:  # more batches of this claim to come
            continue
        out.append(res)
        if on_result:
            on_result(res)
    return out
