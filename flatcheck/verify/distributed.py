"""Campaigns on Dask distributed: each claim (each instance batch of it, in profiles that split
claims into batches: `flatcheck.verify.batches`) is one task on an existing cluster (`--scheduler
tcp://HOST:PORT`) or on a local one started for the run (`--workers N`).

A claim's result depends only on the claim, the implementation and the budget (the runner derives
every instance's seed from the run seed and the instance), so a campaign gives the same results
whatever the number of workers and whatever order the tasks finish in. Results come back to the
client as they finish and are handed to `on_result` (the CLI streams them to results.jsonl).

Workers must have flatcheck, the installed claim packages (`flatcheck.claims`) and the user's implementation
module; claims and implementations travel to them pickled (by reference where they are importable).
On a worker the time limit is the cooperative one (tasks run in worker threads, where the runner's
timers cannot be armed); a worker that dies on a claim turns that claim into `error`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from flatcheck.errors import FlatcheckError
from flatcheck.verify import batches
from flatcheck.verify.claim import Budget, Claim
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.result import ClaimResult
from flatcheck.verify.runner import collect, impl_of, run_claim


def _client(scheduler: str | None, workers: int | None) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise FlatcheckError("distributed runs need Dask: pip install 'flatcheck[dask]'") from e
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise FlatcheckError(f"cannot reach the Dask scheduler at {scheduler} ({e}); is it running?") from e
    if not workers or workers < 1:
        raise FlatcheckError(f"--workers needs a positive number of workers, got {workers}")
    # One thread per worker: hypothesis and torch's global RNG are per process, not per thread.
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,
        silence_logs=logging.ERROR,
    )
    return Client(cluster)


def run_on_worker(claim: Claim, budget: Budget, impl: Any, catalog_size: int, batch: int | None = None) -> ClaimResult:
    """runner.run_claim (one instance batch of it, with `batch`), as a Dask task."""
    with warnings.catch_warnings():
        # Dask's own threads draw from the `random` module while hypothesis generates an instance;
        # hypothesis mistakes that for a strategy using `random`. Our strategies do not, and every
        # check seeds itself from the budget, so the warning says nothing about the claim.
        warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
        return run_claim(claim, budget, impl=impl, catalog_size=catalog_size, batch=batch)


def run_claims_distributed(
    claims: list[Claim],
    profile: str = "default",
    seed: int = 0,
    device: str = "cpu",
    impl_for: Callable[[Claim], Any] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    catalog_size: int | None = None,
    time_limit_s: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    dtype: str = "float64",
) -> list[ClaimResult]:
    """As runner.run_claims, with one Dask task per claim; results in completion order.

    Pass `client` to use a Client you manage; otherwise one is made from `scheduler` or `workers`
    and closed (with its local cluster) at the end, Ctrl-C included."""
    budget = budget_for(profile, seed=seed, device=device, time_limit_s=time_limit_s, dtype=dtype)
    n = catalog_size or len(claims)
    own = client is None
    client = client or _client(scheduler, workers)
    todo = batches.tasks(len(claims), budget)
    try:
        futures = {}
        for t, (i, batch) in enumerate(todo):
            impl = impl_of(claims[i], impl_for)
            futures[client.submit(run_on_worker, claims[i], budget, impl, n, batch, pure=False)] = t
        return collect(claims, todo, _finished(futures), budget, impl_for, on_result, "the Dask task")
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


def _finished(futures: dict[Any, int]) -> Iterator[tuple[int, Any]]:
    """(task index, result) as the tasks finish; the exception for a task whose worker died or
    that was lost, so that the other claims go on."""
    from distributed import as_completed

    for fut in as_completed(futures):
        try:
            yield futures[fut], fut.result()
        except Exception as e:
            yield futures[fut], e
