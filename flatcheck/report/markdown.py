"""Markdown rendering of a results document: summary table first, falsified claims on top."""

from __future__ import annotations

import json
from typing import Any

ORDER = {"falsified": 0, "error": 1, "inconclusive": 2, "verified": 3}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 6:
        return "[" + ", ".join(_fmt(a) for a in v[:6]) + ", …]"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(a) for a in v) + "]"
    return str(v)


def render(doc: dict[str, Any]) -> str:
    prov = doc["provenance"]
    claims = sorted(doc["claims"], key=lambda r: (ORDER.get(r["verdict"], 9), r["id"]))
    s = doc["summary"]
    lines = [
        "# flatcheck verification report",
        "",
        f"{s['verified']} verified · {s['falsified']} falsified · {s['inconclusive']} inconclusive · "
        f"{s['error']} error — profile `{prov['profile']}`, seed {prov['seed']}, device {prov['device']}, "
        f"{prov['dtype']}, wall time {prov.get('wall_time_s', 0):.1f} s",
        "",
        "| verdict | claim | kind | reference | time (s) | instances | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in claims:
        note = r["reason"].replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| **{r['verdict']}** | `{r['id']}` | {r['kind']} | {r['ref']} | {r['time_s']:.2f} | "
            f"{r['examples']} | {note} |"
        )
    lines += ["", "## Claims", ""]
    for r in claims:
        lines += [f"### `{r['id']}` — {r['verdict']}", "", r["summary"], "", f"Reference: {r['ref']}.", ""]
        if r.get("statement"):
            lines += ["$$", r["statement"], "$$", ""]
        if r.get("impl"):
            lines += [f"Implementation: `{r['impl']}`", ""]
        lines += [f"Verdict reason: {r['reason']}", ""]
        if r.get("derivation"):
            lines += ["Symbolic derivation:", "", "```", r["derivation"][:2000], "```", ""]
        for label, key in (
            ("Counterexample (minimal, shrunk)", "counterexample"),
            ("Evidence (tightest instance)", "evidence"),
        ):
            ev = r.get(key)
            if ev:
                lines += [f"{label}:", "", "```json", json.dumps(ev.get("instance"), indent=None)[:1500], "```", ""]
                vals = ev.get("values") or {}
                if vals:
                    lines += ["| quantity | value |", "|---|---|"]
                    lines += [f"| {k} | {_fmt(v)} |" for k, v in vals.items()]
                    lines.append("")
                if ev.get("note"):
                    lines += [f"Note: {ev['note']}", ""]
        if r["verdict"] == "falsified":
            lines += [f"Replay: `{r['replay']}`", ""]
        if r.get("traceback"):
            lines += ["```", r["traceback"][-3000:], "```", ""]
    lines += ["## Provenance", "", "```json", json.dumps(prov, indent=1), "```", ""]
    return "\n".join(lines)
