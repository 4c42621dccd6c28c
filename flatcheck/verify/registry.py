"""Discovers every claim module under `theorems/` and selects claims by id or paper prefix."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from functools import lru_cache

from flatcheck.errors import FlatcheckError
from flatcheck.verify.claim import Claim


@lru_cache(maxsize=1)
def all_claims() -> dict[str, Claim]:
    """id -> Claim, for every module in the `theorems` package that defines `CLAIM`."""
    import theorems

    found: dict[str, Claim] = {}
    for mod in pkgutil.walk_packages(theorems.__path__, prefix="theorems."):
        if mod.ispkg:
            continue
        module = importlib.import_module(mod.name)
        claim = getattr(module, "CLAIM", None)
        if claim is None:
            continue
        if not isinstance(claim, Claim):
            raise FlatcheckError(f"{mod.name}.CLAIM is not a flatcheck Claim")
        if claim.id in found:
            raise FlatcheckError(f"claim id {claim.id} is defined twice (second time in {mod.name})")
        found[claim.id] = claim
    return dict(sorted(found.items()))


def get(claim_id: str) -> Claim:
    claims = all_claims()
    if claim_id in claims:
        return claims[claim_id]
    raise FlatcheckError(_unknown(claim_id, claims))


def _unknown(name: str, claims: dict[str, Claim]) -> str:
    papers = sorted({c.paper for c in claims.values()})
    close = difflib.get_close_matches(name, list(claims) + papers, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else " Run `flatcheck list` to see the catalog."
    return f"unknown claim id or paper {name!r}.{hint}"


def select(patterns: list[str] | None) -> list[Claim]:
    """Claims matching any pattern: an exact id, a paper name, or an id prefix ending in '.'."""
    claims = all_claims()
    if not patterns:
        return list(claims.values())
    chosen: dict[str, Claim] = {}
    for pat in patterns:
        hits = [c for c in claims.values() if c.id == pat or c.paper == pat or c.id.startswith(pat.rstrip(".") + ".")]
        if not hits:
            raise FlatcheckError(_unknown(pat, claims))
        chosen.update({c.id: c for c in hits})
    return [chosen[k] for k in sorted(chosen)]
