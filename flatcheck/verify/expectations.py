"""Expected verdicts: what each claim's verdict should be, and what a check runs in place of an erratum.

A claim records the verdict it is expected to have on flatcheck's reference implementations
(`Claim.expected`); the papers' errata are expected `falsified`. Each record of a run carries that
expectation, so that the report layer can tell a regression from an expected finding without
reading the catalog. On a user's implementation (`flatcheck check`), an erratum says nothing about
the implementation: it is set aside, and its corrected twin, `<id>.corrected`, runs instead.
"""

from __future__ import annotations

from typing import Any

from flatcheck.verify.claim import Claim
from flatcheck.verify.registry import all_claims

# The error classes of a user's implementation that breaks the protocol (see flatcheck.errors); a
# check that meets one stops at once and names it in its record (runner._Abort).
PROTOCOL_ERRORS = ("ProtocolError", "NonFiniteError")


def corrected_twin(claim_id: str) -> str | None:
    """The id of the claim's corrected twin, when the catalog has one."""
    twin = f"{claim_id}.corrected"
    return twin if twin in all_claims() else None


def expectation(claim: Claim) -> dict[str, Any]:
    """The expectation as recorded in a results document."""
    exp = claim.expected
    return {"verdict": exp.verdict, "note": exp.note, "corrected": corrected_twin(claim.id)}


def annotate(record: dict[str, Any], claim: Claim) -> dict[str, Any]:
    """The record of a finished claim with its expectation and whether its verdict met it."""
    exp = expectation(claim)
    return {**record, "expected": exp, "as_expected": record["verdict"] == exp["verdict"]}


def set_aside(claim: Claim) -> dict[str, Any]:
    """What a check reports for an erratum it does not run against the user's implementation."""
    return {
        "id": claim.id,
        "ref": claim.ref,
        "summary": claim.summary,
        "erratum": claim.expected.note,
        "corrected": corrected_twin(claim.id),
    }


def check_plan(claims: list[Claim], kinds: tuple[str, ...]) -> tuple[list[Claim], list[dict[str, Any]]]:
    """The claims a check runs against an implementation of `kinds`, and the errata it sets aside:
    each erratum is replaced by its corrected twin where the twin exercises the same kinds."""
    catalog = all_claims()
    run: dict[str, Claim] = {}
    aside = []
    for c in claims:
        if not c.expected.erratum:
            run[c.id] = c
            continue
        aside.append(set_aside(c))
        twin = corrected_twin(c.id)
        if twin and catalog[twin].algorithm in kinds:
            run[twin] = catalog[twin]
    return [run[k] for k in sorted(run)], aside


def protocol_problem(record: dict[str, Any]) -> bool:
    """Whether a claim stopped because the implementation does not follow the protocol (its
    constructor or step failed, it returned None, it produced NaN): a fault of the input, not a verdict."""
    cx = record.get("counterexample") or {}
    return record["verdict"] == "error" and cx.get("error") in PROTOCOL_ERRORS
