"""The one result type of a claim's run, and its JSON form (what results.json and the reports read)."""

from __future__ import annotations

import inspect
import math
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

from flatcheck.verify.claim import Budget, Claim, Evidence
from flatcheck.verify.replay import replay_command as command_line


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
    # What the derivation computes and what it shows: the docstring of the claim's derive().
    derivation_label: str | None = None
    statement: str = ""
    # How the encoding relates to the paper ({"kind", "scope"}; `Faithful`); None: not declared.
    faithful: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return jsonable({**asdict(self), "tightness": tightness(self)})


def tightness(result: ClaimResult) -> float | None:
    """lhs/rhs of the instance closest to failing (or of the counterexample): 1 is tight, above 1
    violated. A check that knows a better ratio for its statement reports it as `tightness`."""
    rec = result.counterexample if result.verdict == "falsified" else result.evidence
    values = (rec or {}).get("values") or {}
    t = values.get("tightness")
    if isinstance(t, (int, float)):
        return float(t)
    lhs, rhs = values.get("lhs"), values.get("rhs")
    if isinstance(lhs, (int, float)) and isinstance(rhs, (int, float)) and lhs > 0 and rhs > 0:
        return float(lhs) / float(rhs)
    return None


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    try:
        f = float(x)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(x)


def evidence_json(inst_desc: dict[str, Any], ev: Evidence) -> dict[str, Any]:
    return jsonable(
        {
            "instance": inst_desc,
            "holds": ev.holds,
            "margin": ev.margin,
            "values": ev.values,
            "note": ev.note,
            "plot": ev.plot,
        }
    )


def replay_command(claim: Claim, budget: Budget, impl: Any) -> str:
    """The one-line command that reruns this claim exactly: its id, the implementation with the
    options that build it, the seed and the profile (the command line replaces it with one built
    from every option of its run)."""
    impl_name = getattr(impl, "name", None) if claim.algorithm else None
    if impl_name and impl is not None and not getattr(impl, "builtin", False):
        options = {
            "command": "check",
            "target": impl_name,
            "algorithm": getattr(impl, "algorithm", None),
            "kwargs": getattr(impl, "kwargs", None) or None,
            "rename": [f"{k}={v}" for k, v in (getattr(impl, "rename", None) or {}).items()],
            # A factory or driver given as 'module:name' replays; one given as a Python object cannot.
            **{k: v for k in ("factory", "driver") if isinstance(v := getattr(impl, k, None), str)},
            "profile": budget.profile,
            "seed": budget.seed,
        }
    else:
        options = {"command": "verify", "profile": budget.profile, "seed": budget.seed}
    return command_line(claim.id, options)


def blank_result(claim: Claim, budget: Budget, impl: Any) -> ClaimResult:
    """The record of a claim before it is decided (verdict `error` until something better is known)."""
    return ClaimResult(
        id=claim.id,
        paper=claim.paper,
        kind=claim.kind,
        ref=claim.ref,
        summary=claim.summary,
        verdict="error",
        reason="",
        impl=getattr(impl, "name", None) if claim.algorithm else None,
        replay=replay_command(claim, budget, impl),
        statement=claim.statement,
        faithful=claim.faithful.to_json() if claim.faithful is not None else None,
        derivation_label=inspect.getdoc(claim.derive) if claim.derive is not None else None,
    )


def lost_result(claim: Claim, budget: Budget, impl: Any, error: BaseException, where: str) -> ClaimResult:
    """The record of a claim whose run never came back (its worker process died, a task was lost)."""
    res = blank_result(claim, budget, impl)
    res.reason = f"{where} running this claim failed: {type(error).__name__}: {error}"
    res.traceback = "".join(traceback.format_exception(error))
    return res
