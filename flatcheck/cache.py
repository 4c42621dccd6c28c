"""The on-disk cache of deterministic work: nothing computed twice, across runs and processes.

What a run computes the same way every time — a claim's derivation, a problem's symbolic
derivatives, the code sympy prints for a compiled expression, a rendered statement, a drawn plot —
is kept under `root()`, one file per entry, keyed by everything the result depends on: the caller's
key (the claim id and its constants' values, the expression, …), the source of the code that
computes it, and the versions of Python and sympy. A changed input is a different key, so a stale
entry is never read; an entry that cannot be read back whole (a truncated or corrupt file, one
written for another key) is recomputed and overwritten, never trusted.

`$FLATCHECK_CACHE_DIR` moves the cache (`$FLATCHECK_CACHE` is the older name of the same setting);
`$FLATCHECK_NO_CACHE=1` (what `--no-cache` sets) turns it off: everything is computed afresh and
nothing is read or written.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

DIR_ENV = "FLATCHECK_CACHE_DIR"
OLD_DIR_ENV = "FLATCHECK_CACHE"
OFF_ENV = "FLATCHECK_NO_CACHE"
# Bumped when the layout of an entry changes: older entries then miss instead of being misread.
FORMAT = b"flatcheck-cache-1\n"

# Per process: hits, misses and rejected entries (corrupt or written for another key), by namespace
# ("derive:hit", …). What the tests count and `--profile`-style diagnostics read.
STATS: Counter[str] = Counter()


def root() -> Path:
    """$FLATCHECK_CACHE_DIR, else $FLATCHECK_CACHE, else $XDG_CACHE_HOME/flatcheck, else ~/.cache/flatcheck."""
    for env in (DIR_ENV, OLD_DIR_ENV):
        if os.environ.get(env):
            return Path(os.environ[env])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flatcheck"


def enabled() -> bool:
    return os.environ.get(OFF_ENV, "").strip().lower() in ("", "0", "false", "no")


def write_atomic(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so that a reader (another worker) never sees half a
    file; a cache that cannot be written (a read-only home) only costs the work again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass


_source_digests: dict[str, str] = {}


def source_hash(*code: ModuleType | Callable[..., Any] | Path | str) -> str:
    """A digest of the source files that define `code` (modules, functions, files or folders of .py
    files): part of a key, so that editing the code that computes an entry retires the entry."""
    h = hashlib.sha256()
    for path in sorted({str(p) for item in code for p in _files_of(item)}):
        if path not in _source_digests:
            try:
                _source_digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:  # no source to read (a frozen module): the path alone stands for it
                _source_digests[path] = "-"
        h.update(f"{path}\0{_source_digests[path]}\n".encode())
    return h.hexdigest()


def _files_of(item: ModuleType | Callable[..., Any] | Path | str) -> Iterable[Path]:
    if isinstance(item, (str, Path)):
        p = Path(item)
        return sorted(p.rglob("*.py")) if p.is_dir() else [p]
    if isinstance(item, ModuleType):
        if hasattr(item, "__path__"):  # a package: every module in it
            return [f for d in item.__path__ for f in sorted(Path(d).rglob("*.py"))]
        return [Path(item.__file__)] if getattr(item, "__file__", None) else []
    # A decorated function or a functools.partial: the code it wraps.
    func = getattr(item, "__wrapped__", None) or getattr(item, "func", None) or item
    if isinstance(func, FunctionType):
        return [Path(func.__code__.co_filename)]
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    return _files_of(module) if module is not None else []


@functools.cache
def version_of(distribution: str) -> str:
    """An installed package's version, read from its metadata without importing it (matplotlib's
    import costs most of a second that a report drawn from the cache need not pay)."""
    from importlib.metadata import version

    return version(distribution)


@functools.cache
def code_key(*sources: str) -> str:
    """What symbolic work depends on besides its input: sympy's version and the source of the code
    that does it (these files); part of every key of a symbolic entry."""
    import sympy  # imported here: the report, which imports this module, never needs sympy

    return f"sympy {sympy.__version__} {source_hash(*sources)}"


def expr_key(expr: Any) -> str:
    """The key of a sympy expression (or a tuple or matrix of them): a digest of its pickle, which
    spells out how to rebuild it, so that two keys are equal only for equal expressions; stable
    across processes (unlike hash()) and a hundred times cheaper than its srepr. Two spellings of
    one expression (symbols declared with their assumptions in another order) only miss each other."""
    try:
        return _expr_key(expr)
    except TypeError:  # unhashable (a mutable Matrix): not kept in the process
        return _digest(expr)


def _digest(expr: Any) -> str:
    # Without the pickle's memo ("fast" mode) the bytes spell out the tree alone: an equal
    # expression built in another process shares its subexpressions differently (sympy's own
    # cache), and a memo would write those shared objects as back-references.
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=4)
    pickler.fast = True
    pickler.dump(expr)
    return hashlib.sha256(out.getvalue()).hexdigest()


_expr_key = lru_cache(maxsize=4096)(_digest)


def memo(
    namespace: str,
    key: str,
    compute: Callable[[], T],
    dumps: Callable[[T], bytes] = pickle.dumps,
    loads: Callable[[bytes], T] = pickle.loads,
) -> T:
    """compute(), or what it returned before for the same `key` in this namespace.

    `key` must name everything the value depends on besides the version of Python (added here): the
    inputs, a `source_hash` of the code and the versions of the libraries it calls (sympy's). The
    full key is stored inside the entry and compared on reading, beside a digest of the payload: a
    file that is not whole, or was written for another key, is counted as rejected and recomputed."""
    if not enabled():
        return compute()
    full = f"{FORMAT.decode().strip()}\npython {sys.version_info[:3]}\n{namespace}\n{key}".encode()
    name = hashlib.sha256(full).hexdigest()
    path = root() / namespace / f"{name}.pkl"
    try:
        raw = path.read_bytes()
    except OSError:
        raw = None
    if raw is not None:
        try:
            value = _decode(raw, full, loads)
        except Exception:  # a corrupt or foreign entry: recomputed below, never trusted
            STATS[f"{namespace}:rejected"] += 1
        else:
            STATS[f"{namespace}:hit"] += 1
            return value
    STATS[f"{namespace}:miss"] += 1
    value = compute()
    try:
        payload = dumps(value)
    except Exception:  # a value that cannot be stored (an unpicklable object) is only not cached
        return value
    _bound(path.parent)
    write_atomic(path, _encode(full, payload))
    return value


# Entries a namespace keeps: a plot is keyed by its data, so every run of a new seed adds its plots.
MAX_ENTRIES = 20000
_bounded: set[Path] = set()


def _bound(folder: Path) -> None:
    """Once per process and namespace, before its first write: past MAX_ENTRIES, the older half of
    the entries (by last write) is removed; what is removed is only computed again when needed."""
    if folder in _bounded:
        return
    _bounded.add(folder)
    try:
        entries = list(os.scandir(folder))
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda e: e.stat().st_mtime)
        for e in entries[: len(entries) // 2]:
            os.unlink(e.path)
    except OSError:  # a missing folder (nothing kept yet) or an entry another process removed first
        pass


def _encode(full_key: bytes, payload: bytes) -> bytes:
    digest = hashlib.sha256(full_key + b"\0" + payload).digest()
    return FORMAT + len(full_key).to_bytes(4, "little") + full_key + digest + payload


def _decode(raw: bytes, full_key: bytes, loads: Callable[[bytes], T]) -> T:
    head = len(FORMAT)
    if raw[:head] != FORMAT:
        raise ValueError("not a flatcheck cache entry of this format")
    n = int.from_bytes(raw[head : head + 4], "little")
    stored_key = raw[head + 4 : head + 4 + n]
    digest = raw[head + 4 + n : head + 4 + n + 32]
    payload = raw[head + 4 + n + 32 :]
    if stored_key != full_key:
        raise ValueError("entry written for another key")
    if hashlib.sha256(full_key + b"\0" + payload).digest() != digest:
        raise ValueError("entry does not match its digest (truncated or corrupt)")
    return loads(payload)
