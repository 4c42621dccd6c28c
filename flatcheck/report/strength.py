"""Beside each verdict, what it rests on: how faithfully the claim encodes the paper (its declared
faithfulness), and how strong the evidence is — instances decided and out of scope, the tightest
ratio found, and the mutants of its constants killed (from a `mutants.json` of `flatcheck mutate`).

Reads only the JSON documents: a results record and, when given, the mutants document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flatcheck.errors import FlatcheckError

# A falsified claim is a false conclusion unless it is declared a claim about a proof's steps or a
# statement's wording; its id suffix says so for a record written before faithfulness was recorded.
GROUPS = (
    ("conclusions", "conclusions that are false"),
    ("steps", "proof steps that fail"),
    ("wording", "wording, typos and notation"),
)


def faith_kind(r: dict[str, Any]) -> str | None:
    return (r.get("faithful") or {}).get("kind")


def faith_text(r: dict[str, Any]) -> str:
    """`restricted: diagonal networks only …`, `exact`, or `undeclared`."""
    f = r.get("faithful") or {}
    if not f.get("kind"):
        return "undeclared"
    return f"{f['kind']}: {f['scope']}" if f.get("scope") else f["kind"]


def falsified_group(r: dict[str, Any]) -> str:
    """Which group of the falsified section a record belongs to (the first element of a GROUPS pair)."""
    kind = faith_kind(r)
    if kind in ("steps", "wording"):
        return kind
    if kind is None:
        for suffix in ("steps", "wording"):
            if r["id"].endswith("." + suffix):
                return suffix
    return "conclusions"


def read_mutants(path: Path) -> dict[str, Any]:
    """A mutants document of `flatcheck mutate`; one clear message when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FlatcheckError(f"cannot read {path} as a flatcheck mutants JSON ({e})") from e
    recs = doc.get("mutants") if isinstance(doc, dict) else None
    if not isinstance(recs, list) or not all(isinstance(m, dict) and {"claim", "status"} <= m.keys() for m in recs):
        raise FlatcheckError(f"{path} is not a flatcheck mutants document (no list of mutants with claim and status)")
    return doc


def mutant_tally(doc: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """Per claim: mutants killed, decided (killed or survived) and run, from a mutants document."""
    out: dict[str, dict[str, int]] = {}
    for m in (doc or {}).get("mutants") or []:
        t = out.setdefault(m["claim"], {"killed": 0, "decided": 0, "total": 0})
        t["total"] += 1
        t["killed"] += m["status"] == "killed"
        t["decided"] += m["status"] in ("killed", "survived")
    return out


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def ratio_text(r: dict[str, Any]) -> str:
    """The tightest ratio (lhs/rhs, 1 tight) recorded or derived from the evidence, else its margin
    in units of the tolerance; empty when the evidence has neither."""
    ev = (r.get("counterexample") if r["verdict"] == "falsified" else r.get("evidence")) or {}
    values = ev.get("values") or {}
    t = _num(r.get("tightness"))
    if t is None:
        t = _num(values.get("tightness"))
    lhs, rhs = _num(values.get("lhs")), _num(values.get("rhs"))
    if t is None and lhs is not None and rhs is not None and lhs > 0 and rhs > 0:
        t = lhs / rhs
    if t is not None:
        return f"ratio {t:.3g}"
    margin = _num(ev.get("margin"))
    return f"margin {margin:.3g} tol" if margin is not None else ""


def strength_text(r: dict[str, Any], kills: dict[str, dict[str, int]] | None = None) -> str:
    """`12 decided, 3 out of scope · ratio 0.94 · mutants 2/3 killed` — how much the verdict rests on."""
    decided = r["examples"] - r["undecided"]
    parts = [f"{decided} decided" + (f", {r['undecided']} undecided" if r["undecided"] else "")]
    if r["out_of_scope"]:
        parts[0] += f", {r['out_of_scope']} out of scope"
    ratio = ratio_text(r)
    if ratio:
        parts.append(ratio)
    k = (kills or {}).get(r["id"])
    if k:
        parts.append(f"mutants {k['killed']}/{k['total']} killed")
    return " · ".join(parts)


def evidence_caption(mutants: dict[str, Any] | None) -> str:
    """What the faithfulness and evidence columns mean, and which mutation run the kills come from."""
    text = (
        "Faithfulness: how the encoding relates to the paper (exact; restricted to the family named; "
        "corrected; wording or proof steps; reproduction at the scale named). Evidence: instances decided "
        "(and undecided, out of scope), the tightest ratio lhs/rhs found (1 is tight, above 1 violated) or "
        "the margin in tolerances"
    )
    if not mutants:
        return text + "; no mutation run given (`flatcheck mutate`, then `flatcheck report --mutants FILE`)."
    return text + (
        f"; mutants of the declared constants killed, from a `flatcheck mutate` run "
        f"(profile {mutants.get('profile', '?')}, seed {mutants.get('seed', '?')})."
    )
