"""The cores of this machine: tasks run on forked worker processes, one task at a time each.

The runner hands each claim over as a task here (`runner.run_claims(..., jobs=N)`). A claim's
result depends only on the claim, the implementation and the budget (every instance's seed comes
from the run seed and the instance), so results are the same whatever the number of jobs and
whatever order they finish in; the report sorts them by id.

Workers are forked from the process that built the catalog: the task function and what it closes
over (claims hold lambdas) are inherited, not pickled, and nothing is imported twice. A task runs
in its worker's main thread, so the runner's hard time limit (signal timers) holds there as in a
serial run. One torch thread per worker: two processes each spinning two OpenMP threads on two
cores made small-tensor claims many times slower. Where fork is not available (Windows, or a CUDA
device, which a forked child cannot use), the caller runs the tasks in its own process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from flatcheck.errors import FlatcheckError

# The task function of the running pool, set just before the workers fork.
_TASK: list[Callable[[int], Any]] = []


def default_jobs() -> int:
    """$FLATCHECK_JOBS when set, else the cores this process may run on."""
    env = os.environ.get("FLATCHECK_JOBS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise FlatcheckError(f"FLATCHECK_JOBS must be a positive number of processes, got {env!r}")
        return int(env)
    return usable_cores()


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork(device: str) -> bool:
    return device == "cpu" and "fork" in multiprocessing.get_all_start_methods()


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _call(i: int) -> Any:
    return _TASK[0](i)


def map_forked(task: Callable[[int], Any], order: list[int], jobs: int) -> Iterator[tuple[int, Any]]:
    """task(i) for each i of `order` (submitted in that order) on `jobs` forked workers; yields
    (i, result) as they finish, or (i, exception) for a task whose worker died (killed for memory,
    a crash in native code). KeyboardInterrupt passes through and drops the tasks not started."""
    _TASK[:] = [task]
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_init_worker)
    finished = False
    # What the workers inherit (torch, sympy, hypothesis, the catalog: ~200k objects) lives as long
    # as they do: frozen before the fork, the cycle collector of a worker never walks it again — a
    # full collection walked it in ~0.1 s, a few times a claim run, in every worker. The parent
    # unfreezes at once: the workers are all forked at the first submit (the fork start method).
    gc.freeze()
    try:
        futures = {pool.submit(_call, i): i for i in order}
        gc.unfreeze()
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    yield futures[fut], fut.result()
                except Exception as e:  # BrokenProcessPool: the worker died
                    yield futures[fut], e
        finished = True
    finally:
        gc.unfreeze()
        # After a full run, wait for the idle workers to exit, so that their CPU time and memory
        # count in this process's resource usage (the report's provenance). After Ctrl-C (the
        # workers get it too and return their task interrupted), do not wait.
        pool.shutdown(wait=finished, cancel_futures=True)
        _TASK.clear()
