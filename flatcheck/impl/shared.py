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
from collections.abc import Callable, Iterator, Sequence
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
    return shared_all([(key, compute)])[0]


def shared_all(items: Sequence[tuple[str, Callable[[], T]]]) -> list[T]:
    """`shared` for several entries, in an order that does not wait: an entry another worker is
    computing is left for later while this one computes the next free one (two claims needing the
    same ladder of runs split it between them); once every entry left is held elsewhere, it waits
    for the first. Returns the values in the order of `items`."""
    if not active():
        return [compute() for _, compute in items]
    folder = Path(os.environ[SCOPE_ENV])
    values: dict[int, T] = {}
    while len(values) < len(items):
        pending = [i for i in range(len(items)) if i not in values]
        progressed = False
        for i in pending:
            got = _locked(folder, *items[i], wait=not progressed and i == pending[-1])
            if got is not _BUSY:
                values[i], progressed = got, True
    return [values[i] for i in range(len(items))]


_BUSY = object()


def _locked(folder: Path, key: str, compute: Callable[[], T], wait: bool) -> T | object:
    """The entry read, or computed and written, under its exclusive lock; `_BUSY` when another
    worker holds the lock and `wait` is false."""
    path = folder / hashlib.sha256(key.encode()).hexdigest()
    try:
        lock = open(path.with_suffix(".lock"), "a")
    except OSError:  # the scope's folder is gone or unwritable: compute
        return compute()
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _BUSY
        try:
            stored_key, value = pickle.loads(path.read_bytes())
            if stored_key == key:
                return value
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            pass  # not computed yet (or unreadable): computed below, under the lock
        value = compute()
        write_atomic(path, pickle.dumps((key, value)))
        return value
