"""The verdict rule, in one place: how one run's tallies become a verdict, and how the results of a
claim's instance batches (`flatcheck.verify.batches`) become the claim's.

A failing instance decides a run at once (`falsified`, or `error` when the check crashed); a run
without one is `verified` when any admissible instance passed, `inconclusive` otherwise. Over
batches, in batch order: the first error, else the first counterexample, else verified when any
instance passed, else inconclusive — so the merged verdict does not depend on where or in which
order the batches ran.
"""

from __future__ import annotations

from typing import Any

from flatcheck.verify.result import ClaimResult

# A batch with one of these verdicts decides the claim, the first in this order winning.
DECISIVE = ("error", "falsified")


def without_failure(passed: int, undecided: int, notes: list[str]) -> tuple[str, str]:
    """(verdict, reason) of a run in which no instance failed; `notes` are the undecided ones' notes."""
    if passed == 0:
        why = notes[0] if notes else "no admissible instance was decided"
        return "inconclusive", f"no instance decided ({undecided} undecided): {why}"
    reason = f"{passed} admissible instances passed"
    if undecided:
        reason += f"; {undecided} undecided ({notes[0]})"
    return "verified", reason


def merge(blank: ClaimResult, parts: list[ClaimResult]) -> ClaimResult:
    """One claim's result from its batches' (in batch order), written into `blank`."""
    res = blank
    for name in ("examples", "passed", "undecided", "out_of_scope", "time_s"):
        setattr(res, name, sum(getattr(p, name) for p in parts))
    res.derivation = next((p.derivation for p in parts if p.derivation), None)
    res.evidence = tightest(parts)
    where = f" (instance batch {{}} of {len(parts)})"
    for verdict in DECISIVE:
        for j, p in enumerate(parts):
            if p.verdict == verdict:
                res.verdict, res.reason = verdict, p.reason + where.format(j + 1)
                res.counterexample, res.traceback = p.counterexample, p.traceback
                return res
    if res.passed:
        res.verdict = "verified"
        res.reason = f"{res.passed} admissible instances passed in {len(parts)} instance batches"
        if res.undecided:
            res.reason += f"; {res.undecided} undecided"
    else:
        res.verdict = "inconclusive"
        res.reason = "; ".join(dict.fromkeys(p.reason for p in parts))
    return res


def tightest(parts: list[ClaimResult]) -> dict[str, Any] | None:
    """The passing instance with the smallest margin over all batches (the first on a tie)."""
    evidence = [p.evidence for p in parts if p.evidence]
    return min(evidence, key=_margin, default=None)


def _margin(evidence: dict[str, Any]) -> float:
    m = evidence.get("margin")
    try:
        return float(m)
    except (TypeError, ValueError):
        return float("inf")
