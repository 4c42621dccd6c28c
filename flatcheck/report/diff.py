"""`flatcheck diff OLD.json NEW.json`: the claims whose verdict, counterexample or key evidence
changed between two results documents (two versions of flatcheck, two implementations, two seeds).

Key evidence is what a reader compares: the counterexample's instance (the minimal one found), and
for every record the representative instance's margin (its slack in units of the tolerance), which
counts as changed when it moves by more than MARGIN_CHANGE of a tolerance or of itself — a margin is
a ratio to a round-off or statistical tolerance, so smaller moves are noise, not evidence.
"""

from __future__ import annotations

import json
import math
from typing import Any

# The provenance fields that make two runs different experiments; shown above the table.
RUN_FIELDS = ("flatcheck_version", "git_commit", "profile", "seed", "implementation", "device", "dtype")
MARGIN_CHANGE = 1e-3
CELL = 60
# Claims only in one document are named in one line, at most this many.
MAX_NAMED = 12


def _margin(r: dict[str, Any]) -> float | None:
    ev = r.get("counterexample") or r.get("evidence") or {}
    m = ev.get("margin")
    return None if m is None else float(m)  # "inf", "-inf", "nan" as written for non-finite values


def _margin_moved(a: float | None, b: float | None) -> bool:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return str(a) != str(b)
    return abs(a - b) > MARGIN_CHANGE * max(1.0, abs(a), abs(b))


def _fmt(m: float | None) -> str:
    return "–" if m is None else f"{m:.3g}"


def _instance(r: dict[str, Any]) -> str | None:
    cx = r.get("counterexample")
    return None if cx is None else json.dumps(cx.get("instance"), sort_keys=True)


def _short(text: str | None) -> str:
    text = "–" if text is None else text
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The changes: one row per claim that changed (or is in only one document), claims in id order."""
    a = {r["id"]: r for r in old["claims"]}
    b = {r["id"]: r for r in new["claims"]}
    rows = []
    for cid in sorted(a.keys() & b.keys()):
        ra, rb = a[cid], b[cid]
        changed, detail = [], []
        if ra["verdict"] != rb["verdict"]:
            changed.append("verdict")
            detail.append(f"reason: {_short(rb['reason'])}")
        if _instance(ra) != _instance(rb):
            changed.append("counterexample")
            detail.append(f"counterexample {_short(_instance(ra))} → {_short(_instance(rb))}")
        # Under another verdict the margin is another instance's (a counterexample's, not the tightest pass).
        if ra["verdict"] == rb["verdict"] and _margin_moved(_margin(ra), _margin(rb)):
            changed.append("evidence")
            detail.append(f"margin {_fmt(_margin(ra))} → {_fmt(_margin(rb))}")
        if changed:
            rows.append(
                {"id": cid, "old": ra["verdict"], "new": rb["verdict"], "changed": changed, "detail": "; ".join(detail)}
            )
    pa, pb = old["provenance"], new["provenance"]
    runs = {k: (pa.get(k), pb.get(k)) for k in RUN_FIELDS if pa.get(k) != pb.get(k)}
    return {
        "rows": rows,
        "verdict_changes": [r["id"] for r in rows if "verdict" in r["changed"]],
        "runs_differ": runs,
        "compared": len(a.keys() & b.keys()),
        "only_old": sorted(a.keys() - b.keys()),
        "only_new": sorted(b.keys() - a.keys()),
    }


def _header(d: dict[str, Any], old_name: str, new_name: str) -> list[str]:
    lines = [f"{old_name} → {new_name}: {d['compared']} claims in both"]
    for k, (x, y) in d["runs_differ"].items():
        lines.append(f"  {k}: {x} → {y}")
    for key, where in (("only_old", old_name), ("only_new", new_name)):
        ids = d[key]
        if ids:
            more = f", … ({len(ids) - MAX_NAMED} more)" if len(ids) > MAX_NAMED else ""
            lines.append(f"  only in {where} ({len(ids)}): {', '.join(ids[:MAX_NAMED])}{more}")
    return lines


def _footer(d: dict[str, Any]) -> str:
    n = len(d["verdict_changes"])
    if not d["rows"]:
        return "no verdict, counterexample or key evidence changed"
    return f"{len(d['rows'])} claims changed, {n} verdict{'s' if n != 1 else ''} among them"


def diff_table(d: dict[str, Any], old_name: str, new_name: str) -> str:
    """The changes as an aligned text table for the terminal."""
    head = ("claim", "verdict", "changed", "detail")
    body = [(r["id"], f"{r['old']} → {r['new']}", ", ".join(r["changed"]), r["detail"]) for r in d["rows"]]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(3)]
    lines = _header(d, old_name, new_name)
    if body:
        lines.append("")
        for row in [head, *body]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    lines += ["", _footer(d)]
    return "\n".join(lines)


def diff_markdown(d: dict[str, Any], old_name: str, new_name: str) -> str:
    """The changes as Markdown (a heading, what differs between the runs, one table)."""
    lines = ["## flatcheck diff", "", *(f"- {line.strip()}" for line in _header(d, old_name, new_name)), ""]
    if d["rows"]:
        lines += ["| claim | verdict | changed | detail |", "|---|---|---|---|"]
        for r in d["rows"]:
            detail = r["detail"].replace("|", "\\|")
            lines.append(f"| `{r['id']}` | {r['old']} → {r['new']} | {', '.join(r['changed'])} | {detail} |")
        lines.append("")
    lines.append(_footer(d))
    return "\n".join(lines) + "\n"
