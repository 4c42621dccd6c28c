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

import gc
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
from dataclasses import dataclass, replace
from typing import Any, Protocol

import hypothesis
import sympy
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Unsatisfiable

from flatcheck import cache
from flatcheck.errors import Contradiction, FlatcheckError
from flatcheck.stats import CATALOG_ALPHA
from flatcheck.verify import batches, derived, parallel, schedule, verdict
from flatcheck.verify.claim import Budget, Claim, Evidence
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.result import ClaimResult, blank_result, evidence_json, jsonable, lost_result


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


def instance_seed(run_seed: int, description: dict[str, Any]) -> int:
    blob = json.dumps(jsonable(description), sort_keys=True).encode() + str(run_seed).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def derivation(claim: Claim, budget: Budget | None = None) -> str | None:
    """The text of the claim's derivation (`derivation_text(claim.derive())`), None without derive().

    derive() is deterministic symbolic work: its text is kept on disk (`flatcheck.cache`), keyed by
    the claim's id, the values of its constants (the budget's overrides: a mutant's), the source of
    its paper's package and of the engine, and sympy's version."""
    derive = claim.derive
    if derive is None:
        return None
    constants = {c.name: c.value for c in claim.constants} | (budget.constants if budget else {})
    key = "\n".join(
        [
            json.dumps({"claim": claim.id, "constants": constants}, sort_keys=True, default=str),
            derived.code_key(derive),
        ]
    )
    return cache.memo("derive", key, lambda: derivation_text(derive()), str.encode, bytes.decode)


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
        return verdict.merge(blank_result(claim, budget, impl), parts)
    t0 = time.perf_counter()
    result = blank_result(claim, budget, impl)
    run = ClaimRun(claim, budget, batches.batch_budget(budget, batch), impl, catalog_size, use_database)
    try:
        with hard_time_limit(HARD_FACTOR * run.batch_budget.time_limit_s):
            outcome = run.decide()
    except ClaimTimeout:
        outcome = run.timed_out()
    result.verdict, result.reason = outcome.verdict, outcome.reason
    result.counterexample, result.traceback = outcome.counterexample, outcome.traceback
    result.derivation = run.derivation
    result.examples = run.counts["examples"]
    result.passed = run.counts["passed"]
    result.undecided = run.counts["undecided"]
    result.out_of_scope = run.counts["out_of_scope"]
    result.evidence = run.best_evidence
    result.time_s = time.perf_counter() - t0
    return result


@dataclass
class Outcome:
    """How a run ended: its verdict, why, and what a falsification or a crash left behind."""

    verdict: str
    reason: str
    counterexample: dict[str, Any] | None = None
    traceback: str | None = None


class ClaimRun:
    """One hypothesis run of a claim (one instance batch): derive, draw, check and shrink.

    `budget` is the claim's budget (instance seeds come from its seed); `run` is this instance
    batch's (its hypothesis seed and time limit; the deadline starts now). The tallies stay on the
    object, so that a run stopped by the hard time limit can still be reported (`timed_out`)."""

    def __init__(
        self, claim: Claim, budget: Budget, run: Budget, impl: Any, catalog_size: int, use_database: bool
    ) -> None:
        self.claim, self.budget, self.batch_budget, self.impl = claim, budget, run, impl
        self.use_database = use_database
        examples = budget.max_examples
        if claim.max_examples:
            examples = min(examples, budget.scaled(*claim.max_examples))
        self.per_batch = -(-examples // budget.batches)
        # Bonferroni over the catalog and over the instances of this claim, all batches (DESIGN.md: ≤ 1e-3).
        alpha = CATALOG_ALPHA / max(catalog_size, 1) / (self.per_batch * budget.batches)
        self.per_instance = replace(budget, alpha=alpha)
        # A reproduction's instance is a start or a seed for whole training runs: a "smaller" one is no
        # simpler a counterexample, and each shrink candidate costs the runs again. Report the first.
        self.shrinks = budget.shrink_checks if claim.kind != "reproduction" else 0
        self.counts = {"examples": 0, "passed": 0, "undecided": 0, "out_of_scope": 0, "shrink_checks": 0}
        self.found: list[_Counterexample] = []
        self.notes: list[str] = []
        self.best_margin = math.inf
        self.best_evidence: dict[str, Any] | None = None
        self.derivation: str | None = None
        self.deadline = Deadline(run.time_limit_s)

    def decide(self) -> Outcome:
        try:
            self.derivation = derivation(self.claim, self.budget)
        except Exception:
            return Outcome("error", "derive() crashed", traceback=traceback.format_exc())
        try:
            self._hypothesis_test()()
            return Outcome(*verdict.without_failure(self.counts["passed"], self.counts["undecided"], self.notes))
        except (_Counterexample, _ShrinkDone) as stop:
            cx = stop if isinstance(stop, _Counterexample) else self.found[-1]
            stopped = self.shrinks and self.counts["shrink_checks"] > self.shrinks
            # Plain words: the check was rerun `shrinks` times on simpler variants of the failing instance.
            simplest = f"; the counterexample is the simplest found in {self.shrinks} attempts at simplifying it"
            return self._falsified(cx, simplest if stopped else "")
        except Unsatisfiable:
            why = "no admissible instance found within budget (all drawn instances were out of scope)"
            return Outcome("inconclusive", why)
        except _Abort as ab:
            cx = jsonable({"instance": ab.description, "error": type(ab.error).__name__})
            return Outcome("error", str(ab.error), cx, "".join(traceback.format_exception(ab.error)))
        except FlatcheckError as e:
            return Outcome("error", str(e), traceback=traceback.format_exc())
        except hypothesis.errors.Flaky:
            if self.deadline.passed():
                # The time limit fired while hypothesis was drawing an instance; hypothesis then sees the
                # interrupted draw as a flaky strategy. It is the time limit, not a crash.
                raise ClaimTimeout() from None
            return Outcome("error", "hypothesis reported a flaky strategy or check", traceback=traceback.format_exc())
        except Exception as e:  # the implementation or the check crashed: keep the traceback
            return Outcome("error", f"{type(e).__name__}: {e}", traceback=traceback.format_exc())

    def timed_out(self) -> Outcome:
        if self.found:
            # Out of time while shrinking: the smallest genuine counterexample so far still falsifies.
            return self._falsified(self.found[-1], "; simplifying the counterexample stopped at the time limit")
        reason = f"time limit {self.batch_budget.time_limit_s:g}s reached after {self.counts['examples']} instances"
        if self.counts["passed"]:
            reason += f" ({self.counts['passed']} passed, none failed)"
        return Outcome("inconclusive", reason)

    def _falsified(self, cx: _Counterexample, suffix: str) -> Outcome:
        reason = (cx.evidence.note or "conclusion violated beyond numerical and statistical error") + suffix
        return Outcome("falsified", reason, evidence_json(self.claim.describe(cx.instance), cx.evidence))

    def _hypothesis_test(self) -> Callable[[], None]:
        claim, budget = self.claim, self.budget

        def prop(inst: Any) -> None:
            self._check_instance(inst)

        if self.use_database:
            # Hypothesis keys its example database by the test function, and `prop` is the same function
            # for every claim: add the claim, implementation and profile so each has its own entry.
            key = f"{claim.id}|{getattr(self.impl, 'name', None)}|{budget.profile}"
            prop._hypothesis_internal_add_digest = key.encode()  # type: ignore[attr-defined]
        test = given(claim.instances(budget))(prop)
        test = settings(
            max_examples=self.per_batch,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            report_multiple_bugs=False,
            phases=[p for p in Phase if p is not Phase.explain and (self.shrinks or p is not Phase.shrink)],
        )(test)
        test = hypothesis.seed(self.batch_budget.seed)(test)
        if self.use_database:
            # hypothesis.seed switches the example database off; put it back so that a counterexample
            # found once is replayed first next time, and new instances still come from the seed.
            db = hypothesis.database.DirectoryBasedExampleDatabase(".hypothesis/examples")
            test._hypothesis_internal_use_settings = settings(test._hypothesis_internal_use_settings, database=db)
        return test

    def _check_instance(self, inst: Any) -> None:
        """hypothesis's property: check one instance, tally it, raise on a counterexample."""
        claim, counts = self.claim, self.counts
        if self.deadline.passed():
            # The cooperative limit, for threads where the timers cannot be armed.
            raise ClaimTimeout()
        if self.found:
            counts["shrink_checks"] += 1
            if counts["shrink_checks"] > self.shrinks:
                # The shrink budget is spent (every candidate re-runs the check; a smaller
                # counterexample is nicer, not truer). Stop at once — unless the example database is
                # on: hypothesis saves the smallest failure only when it ends normally, so candidates
                # then pass unchecked until it replays that failure, answered from the record.
                if not self.use_database:
                    raise _ShrinkDone()
                desc = claim.describe(inst)
                for cx in reversed(self.found):
                    if cx.description == desc:
                        raise cx
                return
        for a in claim.assumptions:
            if not a.holds(inst):
                counts["out_of_scope"] += 1
                assume(False)
        desc = claim.describe(inst)
        b = replace(self.per_instance, seed=instance_seed(self.budget.seed, desc))
        try:
            ev = claim.check(inst, self.impl, b)
        except Contradiction as e:
            ev = Evidence(False, e.values, note=e.note)
        except FlatcheckError as e:
            raise _Abort(e, desc) from e
        if ev.out_of_scope:
            counts["out_of_scope"] += 1
            assume(False)
        counts["examples"] += 1
        if ev.holds is False:
            self.found.append(_Counterexample(inst, ev, desc))
            raise self.found[-1]
        if ev.holds is None:
            counts["undecided"] += 1
            self.notes.append(ev.note)
            return
        counts["passed"] += 1
        m = ev.margin if ev.margin is not None else math.inf
        if self.best_evidence is None or m < self.best_margin:
            self.best_margin, self.best_evidence = m, evidence_json(desc, ev)


@dataclass(frozen=True)
class Task:
    """One claim, or one instance batch of it, as an executor runs it."""

    claim: Claim
    budget: Budget
    impl: Any
    catalog_size: int
    batch: int | None = None

    def run(self) -> ClaimResult:
        return run_claim(self.claim, self.budget, impl=self.impl, catalog_size=self.catalog_size, batch=self.batch)


class Serial:
    """Runs the tasks one after the other in this process."""

    where = "this process"

    def __call__(self, tasks: list[Task]) -> Iterator[tuple[int, Any]]:
        # As on forked workers (`parallel.map_forked`): the heap built so far (torch, sympy, the
        # catalog) frozen while the claims run, so that the cycle collector does not walk it again
        # and again; what was garbage in it is collected after the run.
        gc.freeze()
        try:
            for t, task in enumerate(tasks):
                yield t, task.run()
        finally:
            gc.unfreeze()


class Forked:
    """Runs the tasks on `jobs` forked worker processes (`flatcheck.verify.parallel`), the longest
    first (`flatcheck.verify.schedule`). `after`, when given, is called in the worker with each
    result once it is decided (the CLI draws its plots there, into the disk cache, on every core
    instead of after the run on one); it must not raise."""

    where = "the worker process"

    def __init__(self, jobs: int, after: Callable[[ClaimResult], None] | None = None):
        self.jobs = jobs
        self.after = after

    def __call__(self, tasks: list[Task]) -> Iterator[tuple[int, Any]]:
        def run(t: int) -> ClaimResult:
            res = tasks[t].run()
            if self.after is not None:
                self.after(res)
            return res

        return parallel.map_forked(run, schedule.longest_first(tasks), self.jobs)


class Executor(Protocol):
    """Takes the tasks and yields (task index, its result or the exception that lost it) in any
    order; `where` names where a lost task ran. `Serial`, `Forked` and
    `flatcheck.verify.distributed.Dask` all feed the same `collect` loop."""

    where: str

    def __call__(self, tasks: list[Task]) -> Iterator[tuple[int, Any]]: ...


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
    dtype: str = "float64",
    executor: Executor | None = None,
) -> list[ClaimResult]:
    """Run claims, handing each result to `on_result` as soon as it is decided: on `executor`, by
    default one after the other in this process, or on `jobs` forked worker processes, where results
    come in the order they finish."""
    budget = budget_for(profile, seed=seed, device=device, time_limit_s=time_limit_s, dtype=dtype)
    n = catalog_size or len(claims)
    todo = batches.tasks(len(claims), budget)
    tasks = [Task(claims[i], budget, impl_of(claims[i], impl_for), n, batch) for i, batch in todo]
    if executor is None:
        jobs = min(jobs, len(tasks))
        executor = Forked(jobs) if jobs > 1 and parallel.can_fork(device) else Serial()
    out = collect(claims, todo, executor(tasks), budget, impl_for, on_result, executor.where)
    schedule.record(budget, {schedule.key(r.id, r.impl): r.time_s for r in out})
    return out


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
