"""Finds the claim catalog through the entry-point group `flatcheck.claims` and selects claims by id or
paper prefix.

Each entry point names a package; every module under it that defines `CLAIM` is a claim. Modules
whose name (or a package's) starts with `_` are never claims: a paper's shared helpers
(`_common.py`) and the template live there. flatcheck's own catalog (`flatcheck_theorems`) is one
such entry, registered in pyproject.toml like any third-party package's."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from flatcheck.errors import FlatcheckError
from flatcheck.verify import derived
from flatcheck.verify.claim import Claim

ENTRY_POINT_GROUP = "flatcheck.claims"


def catalog_packages() -> list[ModuleType]:
    """The packages registered under `flatcheck.claims`, imported."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
    if not found:
        # flatcheck's own catalog registers itself on installation: none at all means flatcheck runs
        # from a source tree that was never installed (or was installed before the entry point existed).
        raise FlatcheckError(
            f"no claim package is registered under the entry point group {ENTRY_POINT_GROUP!r}; "
            "install flatcheck (`pip install -e .` in its checkout) to register its catalog"
        )
    return [_load(ep) for ep in found]


def _load(ep: EntryPoint) -> ModuleType:
    try:
        package = ep.load()
    except Exception as exc:
        raise FlatcheckError(f"the claim package {ep.value!r} ({ep.name!r}) cannot be imported: {exc}") from exc
    if not isinstance(package, ModuleType) or not hasattr(package, "__path__"):
        raise FlatcheckError(f"entry point {ep.name!r} of {ENTRY_POINT_GROUP} must name a package, not {ep.value!r}")
    return package


def claims_in(packages: Iterable[ModuleType]) -> dict[str, Claim]:
    """id -> Claim for every module under `packages` that defines `CLAIM`, sorted by id."""
    found: dict[str, Claim] = {}
    for package in packages:
        for mod in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            inner = mod.name[len(package.__name__) + 1 :].split(".")
            if mod.ispkg or any(part.startswith("_") for part in inner):
                continue
            module = importlib.import_module(mod.name)
            claim = getattr(module, "CLAIM", None)
            if claim is None:
                continue
            if not isinstance(claim, Claim):
                raise FlatcheckError(f"{mod.name}.CLAIM is not a flatcheck Claim")
            if claim.derive is not None:
                claim = replace(claim, derive=derived.install(module, claim.derive))
                module.CLAIM = claim
            if claim.id in found:
                raise FlatcheckError(f"claim id {claim.id} is defined twice (second time in {mod.name})")
            found[claim.id] = claim
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def all_claims() -> dict[str, Claim]:
    """id -> Claim over every registered catalog (cached: call `all_claims.cache_clear()` after
    registering a package at run time)."""
    return claims_in(catalog_packages())


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


def select(patterns: list[str] | None, exact: bool = False) -> list[Claim]:
    """Claims matching any pattern: a claim id with the claims under it (`ahn2024.lemma5` also
    selects `ahn2024.lemma5.corrected`), a paper name, or an id prefix; with `exact`, only the
    claims whose id is one of the patterns (what a replay runs)."""
    claims = all_claims()
    if not patterns:
        return list(claims.values())
    chosen: dict[str, Claim] = {}
    for pat in patterns:
        if exact:
            hits = [claims[pat]] if pat in claims else []
        else:
            hits = [
                c for c in claims.values() if c.id == pat or c.paper == pat or c.id.startswith(pat.rstrip(".") + ".")
            ]
        if not hits:
            raise FlatcheckError(_unknown(pat, claims))
        chosen.update({c.id: c for c in hits})
    return [chosen[k] for k in sorted(chosen)]
