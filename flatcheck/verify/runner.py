"""Runs claims: draws admissible instances with hypothesis, checks them, shrinks failures.

Every instance's check gets a seed derived from the run seed and the instance itself, so a
check is a deterministic function of its instance: hypothesis can shrink a counterexample
without the Monte Carlo draws changing under it, and the same seed replays the same result.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import hypothesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable

from flatcheck.errors import FlatcheckError
from flatcheck.stats import CATALOG_ALPHA
from flatcheck.verify.claim import Budget, Claim, Evidence
from flatcheck.verify.profiles import PROFILES, budget_for


class _Counterexample(Exception):
    def __init__(self, instance: Any, evidence: Evidence):
        super().__init__("counterexample")
        self.instance = instance
        self.evidence = evidence


class _OutOfTime(Exception):
    pass


@dataclass
class ClaimResult:
    id: str
    paper: str
    kind: str
    ref: str
    summary: str
    verdict: str
    reason: str
    impl: str | None
    examples: int = 0
    passed: int = 0
    undecided: int = 0
    out_of_scope: int = 0
    time_s: float = 0.0
    evidence: dict[str, Any] | None = None
    counterexample: dict[str, Any] | None = None
    traceback: str | None = None
    replay: str = ""
    derivation: str | None = None
    statement: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    try:
        f = float(x)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(x)


def instance_seed(run_seed: int, description: dict[str, Any]) -> int:
    blob = json.dumps(_jsonable(description), sort_keys=True).encode() + str(run_seed).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def _evidence_json(inst_desc: dict[str, Any], ev: Evidence) -> dict[str, Any]:
    return _jsonable(
        {
            "instance": inst_desc,
            "holds": ev.holds,
            "margin": ev.margin,
            "values": ev.values,
            "note": ev.note,
            "plot": ev.plot,
        }
    )


def run_claim(
    claim: Claim,
    budget: Budget,
    impl: Any = None,
    catalog_size: int = 1,
    use_database: bool = False,
) -> ClaimResult:
    """Check one claim within its budget; never raises for a failing or crashing check."""
    t0 = time.perf_counter()
    # Bonferroni over the catalog and over the instances of this claim (DESIGN.md: ≤ 1e-3).
    per_instance = replace(budget, alpha=CATALOG_ALPHA / max(catalog_size, 1) / budget.max_examples)
    counts = {"examples": 0, "passed": 0, "undecided": 0, "out_of_scope": 0}
    notes: list[str] = []
    best: dict[str, Any] = {}
    impl_name = getattr(impl, "name", None) if claim.impl else None
    replay = f"flatcheck verify {claim.id} --seed {budget.seed} --profile {budget.profile}"
    if impl_name and impl is not None and not getattr(impl, "builtin", False):
        replay = f"flatcheck check {impl_name} --claims {claim.id} --seed {budget.seed} --profile {budget.profile}"
    result = ClaimResult(
        id=claim.id,
        paper=claim.paper,
        kind=claim.kind,
        ref=claim.ref,
        summary=claim.summary,
        verdict="error",
        reason="",
        impl=impl_name,
        replay=replay,
        statement=claim.statement,
    )
    try:
        if claim.derive is not None:
            result.derivation = str(claim.derive())
    except Exception:
        result.verdict, result.reason = "error", "derive() crashed"
        result.traceback = traceback.format_exc()
        result.time_s = time.perf_counter() - t0
        return result

    found: list[_Counterexample] = []

    def prop(inst: Any) -> None:
        if time.perf_counter() - t0 > budget.time_limit_s:
            # Out of time while shrinking: report the smallest genuine counterexample so far.
            raise found[-1] if found else _OutOfTime()
        for a in claim.assumptions:
            if not a.holds(inst):
                counts["out_of_scope"] += 1
                assume(False)
        desc = claim.describe(inst)
        b = replace(per_instance, seed=instance_seed(budget.seed, desc))
        ev = claim.check(inst, impl, b)
        if ev.out_of_scope:
            counts["out_of_scope"] += 1
            assume(False)
        counts["examples"] += 1
        if ev.holds is False:
            found.append(_Counterexample(inst, ev))
            raise found[-1]
        if ev.holds is None:
            counts["undecided"] += 1
            notes.append(ev.note)
            return
        counts["passed"] += 1
        m = ev.margin if ev.margin is not None else math.inf
        if not best or m < best["margin_key"]:
            best.update(margin_key=m, evidence=_evidence_json(desc, ev))

    test = given(claim.instances(budget))(prop)
    test = settings(
        max_examples=budget.max_examples,
        deadline=None,
        database=hypothesis.database.DirectoryBasedExampleDatabase(".hypothesis/examples") if use_database else None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )(test)
    test = hypothesis.seed(budget.seed)(test)
    try:
        test()
        if counts["passed"] == 0:
            result.verdict = "inconclusive"
            why = notes[0] if notes else "no admissible instance was decided"
            result.reason = f"no instance decided ({counts['undecided']} undecided): {why}"
        else:
            result.verdict = "verified"
            result.reason = f"{counts['passed']} admissible instances passed"
            if counts["undecided"]:
                result.reason += f"; {counts['undecided']} undecided ({notes[0]})"
    except _Counterexample as cx:
        result.verdict = "falsified"
        desc = claim.describe(cx.instance)
        result.counterexample = _evidence_json(desc, cx.evidence)
        result.reason = cx.evidence.note or "conclusion violated beyond numerical and statistical error"
    except _OutOfTime:
        result.verdict = "inconclusive"
        result.reason = f"time limit {budget.time_limit_s:.0f}s reached after {counts['examples']} instances"
        if counts["passed"]:
            result.reason += f" ({counts['passed']} passed, none failed)"
    except Unsatisfiable:
        result.verdict = "inconclusive"
        result.reason = "no admissible instance found within budget (all drawn instances were out of scope)"
    except FlatcheckError as e:
        result.verdict, result.reason = "error", str(e)
        result.traceback = traceback.format_exc()
    except Exception as e:  # the implementation or the check crashed: keep the traceback
        result.verdict, result.reason = "error", f"{type(e).__name__}: {e}"
        result.traceback = traceback.format_exc()
    result.examples = counts["examples"]
    result.passed = counts["passed"]
    result.undecided = counts["undecided"]
    result.out_of_scope = counts["out_of_scope"]
    result.evidence = best.get("evidence")
    result.time_s = time.perf_counter() - t0
    return result


def run_claims(
    claims: list[Claim],
    profile: str = "default",
    seed: int = 0,
    device: str = "cpu",
    impl_for: Callable[[Claim], Any] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    catalog_size: int | None = None,
) -> list[ClaimResult]:
    if profile not in PROFILES:
        raise FlatcheckError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    budget = budget_for(profile, seed=seed, device=device)
    n = catalog_size or len(claims)
    out = []
    for claim in claims:
        impl = impl_for(claim) if (impl_for and claim.impl) else None
        res = run_claim(claim, budget, impl=impl, catalog_size=n)
        out.append(res)
        if on_result:
            on_result(res)
    return out
