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
import socket
import warnings
from collections.abc import Iterator
from typing import Any

from flatcheck.errors import FlatcheckError
from flatcheck.verify.result import ClaimResult
from flatcheck.verify.runner import Task


def _client(scheduler: str | None, workers: int | None) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise FlatcheckError("distributed runs need Dask: pip install 'flatcheck[dask]'") from e
    if scheduler:
        try:
            _refused(scheduler)
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


def _refused(scheduler: str) -> None:
    """Raise ConnectionRefusedError at once when a tcp:// scheduler's port refuses connections:
    Dask's client would retry a refused address for its whole timeout (20 s) before saying so."""
    address = scheduler.removeprefix("tcp://")
    host, _, port = address.rpartition(":")
    if not scheduler.startswith("tcp://") or not port.isdigit():
        return  # another protocol or form: Dask's own client reports it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except ConnectionRefusedError:
        raise
    except OSError:
        return  # unreachable rather than refused (a firewall, a slow network): Dask's timeout decides


def run_on_worker(task: Task) -> ClaimResult:
    """One task (a claim, or one instance batch of it), run on a Dask worker."""
    with warnings.catch_warnings():
        # Dask's own threads draw from the `random` module while hypothesis generates an instance;
        # hypothesis mistakes that for a strategy using `random`. Our strategies do not, and every
        # check seeds itself from the budget, so the warning says nothing about the claim.
        warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
        return task.run()


class Dask:
    """The executor of `runner.run_claims` on Dask: one task per claim (per instance batch).

    Pass `client` to use a Client you manage; otherwise one is made from `scheduler` or `workers`
    when the tasks start, and closed (with its local cluster) at the end, Ctrl-C included."""

    where = "the Dask task"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, client: Any = None):
        if scheduler and workers:
            raise FlatcheckError("--scheduler and --workers exclude each other: use a cluster, or start a local one")
        self.scheduler, self.workers, self.client = scheduler, workers, client

    def __call__(self, tasks: list[Task]) -> Iterator[tuple[int, Any]]:
        own = self.client is None
        client = self.client or _client(self.scheduler, self.workers)
        try:
            futures = {client.submit(run_on_worker, task, pure=False): t for t, task in enumerate(tasks)}
            yield from _finished(futures)
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
