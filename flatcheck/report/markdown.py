"""Markdown rendering of a results document: summary table first, falsified claims on top.

Plots are referenced as PNG files under `plots/` next to the Markdown (write.py writes them);
formulas are left as `$$…$$` LaTeX, which GitHub and most Markdown viewers render."""

from __future__ import annotations

import json
from typing import Any

from flatcheck.report import text
from flatcheck.report.strength import evidence_caption, faith_text, mutant_tally, strength_text
from flatcheck.report.summary import markdown_sections


def _cell(value: Any) -> str:
    return text.readable(value).replace("|", "\\|").replace("\n", " ")


def plot_name(claim_id: str, key: str) -> str:
    return f"plots/{claim_id}.{key}.png"


def _evidence(label: str, r: dict[str, Any], key: str, plots: set[str]) -> list[str]:
    ev = r.get(key)
    if not ev:
        return []
    lines = [f"{label}:", "", "```", text.instance_text(ev.get("instance")), "```", ""]
    vals = ev.get("values") or {}
    if vals:
        lines += ["| quantity | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(text.fmt(v))} |" for k, v in vals.items()] + [""]
    if ev.get("note"):
        lines += [f"Note: {text.readable(ev['note'])}", ""]
    name = plot_name(r["id"], key)
    if name in plots:
        lines += [f"![{r['id']} {key}]({name})", ""]
    return lines


def render(
    doc: dict[str, Any], plots: set[str] | frozenset[str] = frozenset(), mutants: dict[str, Any] | None = None
) -> str:
    """The Markdown report; `plots` names the plot files that exist beside it, `mutants` is the
    document of a `flatcheck mutate` run whose kills the summary shows."""
    prov = doc["provenance"]
    kills = mutant_tally(mutants)
    claims = text.sorted_claims(doc["claims"])
    s = doc["summary"]
    partial = text.partial_note(prov, len(claims))
    lines = [
        "# flatcheck verification report" + (" (partial)" if partial else ""),
        "",
        *([f"> **{partial}**", ""] if partial else []),
        f"{s['verified']} verified · {s['falsified']} falsified · {s['inconclusive']} inconclusive · "
        f"{s['error']} error — profile `{prov['profile']}`, seed {prov['seed']}, device {prov['device']}, "
        f"{prov['dtype']}, {text.run_cost(prov)}",
        "",
    ]
    # What differs from the expected verdicts (or a check's defects) first, then the papers' errata.
    lines += markdown_sections(doc)
    lines += [
        "## Summary",
        "",
        f"_{evidence_caption(mutants)}_",
        "",
        "| verdict | claim | faithfulness | evidence | kind | reference | time (s) | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in claims:
        lines.append(
            f"| **{r['verdict']}** | [`{r['id']}`](#{r['id'].replace('.', '')}) | {_cell(faith_text(r))} | "
            f"{_cell(strength_text(r, kills))} | {r['kind']} | {_cell(r['ref'])} | {r['time_s']:.2f} | "
            f"{_cell(r['reason'])} |"
        )
    lines += ["", "## Claims", ""]
    for r in claims:
        lines += [f"### {r['id']}", "", f"**{r['verdict']}** — {r['summary']}", "", f"Reference: {r['ref']}.", ""]
        lines += [f"Faithfulness: {faith_text(r)}. Evidence: {strength_text(r, kills)}.", ""]
        if r.get("statement"):
            lines += ["$$", r["statement"], "$$", ""]
        if r.get("impl"):
            lines += [f"Implementation: `{r['impl']}`", ""]
        lines += [f"Verdict reason: {text.readable(r['reason'])}", ""]
        if r.get("derivation"):
            lines += [f"Symbolic derivation (exact, computed by sympy): {text.derivation_caption(r)}", ""]
            lines += ["```", r["derivation"][:2000], "```", ""]
        lines += _evidence("Counterexample (the simplest found)", r, "counterexample", plots)
        lines += _evidence("Evidence (tightest passing instance)", r, "evidence", plots)
        lines += [f"Replay: `{r['replay']}`", ""]
        if r.get("traceback"):
            lines += ["```", r["traceback"][-3000:], "```", ""]
    lines += ["## Provenance", "", "```json", json.dumps(prov, indent=1), "```", ""]
    return "\n".join(lines)
