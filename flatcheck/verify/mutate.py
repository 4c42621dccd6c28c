"""Measured power: each declared constant of a claim moved the way that strengthens the statement.

A mutant is the claim run with one of its constants (`Claim.constants`) replaced through
`Budget.constants`: a constant ×2 or ÷2, an O(·) order +1, an exponent by the amount its
declaration states. A check with power falsifies a mutant wherever the printed statement is tight
somewhere among its instances; a mutant that survives is reported with the tightest ratio found,
which says how loose the statement was on every instance tried.

Each claim also runs once as printed (the baseline): a mutant of a claim that is itself falsified
(an erratum) or undecided proves nothing about power and is counted apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flatcheck.verify.claim import Budget, Claim, Constant
from flatcheck.verify.result import ClaimResult, jsonable, lost_result, tightness
from flatcheck.verify.runner import Executor, Serial, Task, impl_of

STATUSES = ("killed", "survived", "undecided", "baseline-not-verified")


@dataclass(frozen=True)
class Mutant:
    claim: Claim
    constant: Constant | None  # None: the baseline, the claim as printed

    @property
    def key(self) -> str:
        return f"{self.claim.id}[{self.constant.name if self.constant else 'printed'}]"


def mutants(claims: list[Claim]) -> list[Mutant]:
    """The baseline and one mutant per declared constant, for each claim that declares any."""
    return [Mutant(c, k) for c in claims if c.constants for k in (None, *c.constants)]


def status(baseline: str, verdict: str) -> str:
    if baseline != "verified":
        return "baseline-not-verified"
    if verdict == "falsified":
        return "killed"
    return "survived" if verdict == "verified" else "undecided"


def run_mutants(
    claims: list[Claim],
    budget: Budget,
    impl_for: Callable[[Claim], Any] | None,
    catalog_size: int,
    executor: Executor | None = None,
    on_result: Callable[[str, ClaimResult], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every baseline and mutant on `executor` (default: this process); one record per
    claim × constant (see `record`)."""
    todo = mutants(claims)
    tasks = [
        Task(
            m.claim,
            replace(budget, constants={m.constant.name: m.constant.mutated()}) if m.constant else budget,
            impl_of(m.claim, impl_for),
            catalog_size,
        )
        for m in todo
    ]
    executor = executor or Serial()
    results = executor(tasks)
    done: dict[str, ClaimResult] = {}
    for i, res in results:
        m = todo[i]
        if isinstance(res, BaseException):
            res = lost_result(m.claim, budget, impl_of(m.claim, impl_for), res, executor.where)
        done[m.key] = res
        if on_result:
            on_result(m.key, res)
    return [record(m, done[Mutant(m.claim, None).key], done[m.key]) for m in todo if m.constant is not None]


def record(m: Mutant, baseline: ClaimResult, res: ClaimResult) -> dict[str, Any]:
    k = m.constant
    if k is None:
        raise ValueError(f"{m.key} is the baseline, not a mutant")
    return {
        "claim": m.claim.id,
        "constant": k.name,
        "printed": k.printed,
        "value": k.value,
        "mutated": k.mutated(),
        "mutation": k.mutation,
        "stronger": k.stronger,
        "text": k.text,
        "baseline": baseline.verdict,
        "verdict": res.verdict,
        "status": status(baseline.verdict, res.verdict),
        "tightness": tightness(res),
        "baseline_tightness": tightness(baseline),
        "instances": res.examples,
        "reason": res.reason,
        "time_s": res.time_s,
    }


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {s: sum(r["status"] == s for r in records) for s in STATUSES}
    decided = counts["killed"] + counts["survived"]
    return {**counts, "mutants": len(records), "kill_rate": counts["killed"] / decided if decided else None}


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return "–" if x is None else str(x)


def markdown(records: list[dict[str, Any]], profile: str, seed: int) -> str:
    s = summary(records)
    rate = "–" if s["kill_rate"] is None else f"{s['kill_rate']:.0%}"
    lines = [
        f"# Mutants ({profile} profile, seed {seed})",
        "",
        f"{s['killed']} killed, {s['survived']} survived (kill rate {rate} of decided mutants); "
        f"{s['undecided']} undecided, {s['baseline-not-verified']} of claims not verified as printed.",
        "",
        "A mutant moves one constant the way that strengthens the statement; it is killed when the check "
        "falsifies it. A survivor's tightness is the ratio (lhs/rhs, 1 = tight) of the instance closest to "
        "failing: the mutated statement still held with that much room on every instance tried.",
        "",
        "| claim | constant | printed | mutated | verdict | status | tightness | why |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        why = r["reason"].replace("|", "\\|")
        if len(why) > 140:
            why = why[:137] + "…"
        lines.append(
            f"| {r['claim']} | {r['constant']} | {r['printed']} | {_fmt(r['mutated'])} | {r['verdict']} | "
            f"{r['status']} | {_fmt(r['tightness'])} | {why} |"
        )
    return "\n".join(lines) + "\n"


def write(records: list[dict[str, Any]], out: Path, profile: str, seed: int) -> None:
    doc = jsonable({"profile": profile, "seed": seed, "summary": summary(records), "mutants": records})
    (out / "mutants.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "mutants.md").write_text(markdown(records, profile, seed))
