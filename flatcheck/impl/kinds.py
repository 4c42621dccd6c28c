"""Which algorithms an optimizer class serves: inferred from its name (the aliases of every
registered `AlgorithmSpec`), or named by the user.

One class can serve several algorithms (`AlgorithmSpec.family`): a davda54-style SAM is full-batch
SAM (wen2023 (3)) on the full loss and stochastic SAM ((7), batch size 1) on one example's loss; a
plain gradient update is GD on the full loss and SGD on a mini-batch loss.
"""

from __future__ import annotations

import re

from flatcheck.errors import FlatcheckError
from flatcheck.impl.spec import SPECS

# Where a word of a class name starts: after a lower-case letter or digit before a capital, before
# the last capital of an acronym followed by lower case (SAMOptimizer), at a letter/digit change.
_WORD_START = re.compile(
    r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])"
)


def _words(class_name: str) -> tuple[str, set[int]]:
    """The class name in lower case without separators, and the offsets where its words meet."""
    name, bounds = "", set()
    for chunk in re.findall(r"[A-Za-z0-9]+", class_name):
        bounds.update(len(name) + m.start() for m in _WORD_START.finditer(chunk))
        bounds.update((len(name), len(name) + len(chunk)))
        name += chunk.lower()
    return name, bounds


def _spelled(alias: str, name: str, bounds: set[int]) -> bool:
    """alias occurs in name as a word's beginning or its end (GSAM, SAMOptimizer are SAM; the nso
    inside TensorSAM is not NSO)."""
    return any(
        i in bounds or i + len(alias) in bounds
        for i in (m.start() for m in re.finditer(f"(?={re.escape(alias)})", name))
    )


def infer_algorithm(class_name: str, known: list[str]) -> str:
    """The one algorithm whose spelling begins or ends a word of the class name; a spelling inside a
    longer matching one does not count (SGD is not GD, WPSGD is not SGD)."""
    name, bounds = _words(class_name)
    hits: dict[str, str] = {}
    for kind in known:
        spellings = SPECS[kind].aliases if kind in SPECS else (kind.replace("_", ""),)
        found = [a for a in spellings if _spelled(a, name, bounds)]
        if found:
            hits[kind] = max(found, key=len)
    kept = [k for k, a in hits.items() if not any(a != b and a in b for b in hits.values())]
    if len(kept) != 1:
        raise FlatcheckError(
            f"cannot tell which algorithm {class_name} implements"
            + (f" (it could be {', '.join(sorted(kept))})" if kept else "")
            + f"; pass --algorithm ({'|'.join(sorted(known))})"
        )
    other = SPECS[kept[0]].others.get(name) if kept[0] in SPECS else None
    if other is not None:
        raise FlatcheckError(
            f"{class_name} looks like {other}, another algorithm than {kept[0]}: no claim of the catalog "
            f"states its update, so flatcheck does not check it as {kept[0]} by its name; "
            f"--algorithm {kept[0]} checks it against {kept[0]}'s statements (where it departs from "
            f"them, those are its own defects only if it means to be {kept[0]})"
        )
    return kept[0]


def kinds_for(algorithm: str, known: list[str]) -> tuple[str, ...]:
    """The algorithms an implementation of `algorithm` is checked as: itself, then its family."""
    if algorithm not in known:
        raise FlatcheckError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(sorted(known))}")
    family = SPECS[algorithm].family if algorithm in SPECS else ()
    return tuple(k for k in (algorithm, *family) if k in known)
