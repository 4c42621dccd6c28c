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


def infer_algorithm(class_name: str, known: list[str]) -> str:
    """The one algorithm whose spelling occurs in the class name; a spelling inside a longer
    matching one does not count (SGD is not GD, WPSGD is not SGD)."""
    name = re.sub(r"[^a-z0-9]", "", class_name.lower())
    hits: dict[str, str] = {}
    for kind in known:
        spellings = SPECS[kind].aliases if kind in SPECS else (kind.replace("_", ""),)
        found = [a for a in spellings if a in name]
        if found:
            hits[kind] = max(found, key=len)
    kept = [k for k, a in hits.items() if not any(a != b and a in b for b in hits.values())]
    if len(kept) != 1:
        raise FlatcheckError(
            f"cannot tell which algorithm {class_name} implements"
            + (f" (it could be {', '.join(sorted(kept))})" if kept else "")
            + f"; pass --algorithm ({'|'.join(sorted(known))})"
        )
    return kept[0]


def kinds_for(algorithm: str, known: list[str]) -> tuple[str, ...]:
    """The algorithms an implementation of `algorithm` is checked as: itself, then its family."""
    if algorithm not in known:
        raise FlatcheckError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(sorted(known))}")
    family = SPECS[algorithm].family if algorithm in SPECS else ()
    return tuple(k for k in (algorithm, *family) if k in known)
