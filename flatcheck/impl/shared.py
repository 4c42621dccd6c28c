"""Runs of a user's optimizer shared by the claims of one `flatcheck check`, across its workers.

Several dynamics claims run the very same run of the implementation: wen2023.theorem11 and
Corollary 17 step stochastic SAM from the same start with the same (η, ρ), seed and horizon, and
wen2023.theorem8 and Corollary 15 the same full-batch SAM (their instances and instance seeds come
from one strategy and one run seed). A user's class steps one optimizer per chain, ~1 ms a step, so
running it once instead of twice halves most of a check. A run is a deterministic function of
(implementation, problem, start, hyper-parameters, steps, seed) — torch's global RNG is seeded
with the seed for the user's own draws — so the second claim reads exactly the iterates it would
have computed (for a class that is not deterministic, another of its runs: the claim's guarantee
is about one run and holds for it).

Entries live in a folder made for one `flatcheck check` invocation (`scope()`) and removed at its
end: the user's class may change between runs, so nothing is kept across them. Outside a scope
(the library API, the tests, the benchmarks) every run is computed. Workers are forked processes:
an entry is computed under an exclusive file lock, so a claim that needs a run another worker is
computing waits for it instead of computing it again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from flatcheck.cache import write_atomic

try:
    import fcntl
except ImportError:  # no POSIX locks (Windows): nothing is shared, everything is computed
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

SCOPE_ENV = "FLATCHECK_SHARED_RUNS"


@contextmanager
def scope() -> Iterator[Path]:
    """A folder for the runs shared by the claims run inside the block (and by the workers forked
    inside it), removed on exit."""
    previous = os.environ.get(SCOPE_ENV)
    folder = Path(tempfile.mkdtemp(prefix="flatcheck-runs-"))
    os.environ[SCOPE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(SCOPE_ENV, None)
        else:
            os.environ[SCOPE_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


def active() -> bool:
    return fcntl is not None and bool(os.environ.get(SCOPE_ENV))


def shared(key: str, compute: Callable[[], T]) -> T:
    """compute(), or what it returned for the same key earlier in this scope (in any worker). The
    key must name everything the value depends on; it is stored in the entry and compared on
    reading, so an entry for another key is never returned."""
    if not active():
        return compute()
    folder = Path(os.environ[SCOPE_ENV])
    path = folder / hashlib.sha256(key.encode()).hexdigest()
    try:
        lock = open(path.with_suffix(".lock"), "a")
    except OSError:  # the scope's folder is gone or unwritable: compute
        return compute()
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            stored_key, value = pickle.loads(path.read_bytes())
            if stored_key == key:
                return value
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            pass  # not computed yet (or unreadable): computed below, under the lock
        value = compute()
        write_atomic(path, pickle.dumps((key, value)))
        return value
