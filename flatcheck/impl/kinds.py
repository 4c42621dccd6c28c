"""Which algorithm kinds an optimizer class serves: inferred from its name, or named by the user.

One class can serve several kinds: a davda54-style SAM is full-batch SAM (wen2023 (3)) on the
full loss and stochastic SAM ((7), batch size 1) on one example's loss; a plain gradient update is
GD on the full loss and SGD on a mini-batch loss.
"""

from __future__ import annotations

import re

from flatcheck.errors import FlatcheckError

FAMILIES: dict[str, tuple[str, ...]] = {
    "sam": ("sam", "sam_stochastic"),
    "gd": ("gd", "sgd"),
    "sgd": ("sgd", "gd"),
}

# Spellings of each kind inside a class name (lower case, letters and digits only).
ALIASES: dict[str, tuple[str, ...]] = {
    "rsp": ("rsp", "randomlysmoothed", "randomsmoothing"),
    "sap": ("sap", "sharpnessawareperturbation"),
    "sam": ("sam", "sharpnessaware"),
    "sam_stochastic": ("samstochastic", "stochasticsam"),
    "ascent_gd": ("ascentgd", "ascent", "lasc"),
    "nso": ("nso", "noisestability"),
    "wp_sgd": ("wpsgd", "wpgd", "weightperturbed"),
    "gd": ("gd", "gradientdescent"),
    "sgd": ("sgd",),
    "linsgd": ("linsgd", "linearsgd", "linearizedsgd"),
}


def infer_algorithm(class_name: str, known: list[str]) -> str:
    """The one kind whose spelling occurs in the class name; a spelling inside a longer matching
    one does not count (SGD is not GD, WPSGD is not SGD)."""
    name = re.sub(r"[^a-z0-9]", "", class_name.lower())
    hits: dict[str, str] = {}
    for kind in known:
        found = [a for a in ALIASES.get(kind, (kind.replace("_", ""),)) if a in name]
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
    """The claim kinds an implementation of `algorithm` is checked on."""
    if algorithm not in known:
        raise FlatcheckError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(sorted(known))}")
    return tuple(k for k in FAMILIES.get(algorithm, (algorithm,)) if k in known)
