"""The lead sections of the reports (what differs from the expected verdicts, or the defects of a
user's implementation, then the papers' errata) in Markdown and HTML, and the short Markdown of
`--summary FILE` for a CI job summary (e.g. `--summary "$GITHUB_STEP_SUMMARY"`)."""

from __future__ import annotations

import html
from typing import Any

from flatcheck.report.outcome import expectation_text, note_of, outcome, quiet, sections, status_line
from flatcheck.report.text import instance_text, readable

# A CI summary stays short: reasons are cut to this many characters, and so many claims per section.
REASON_CHARS = 240
MAX_ROWS = 30


def _cell(text: Any) -> str:
    return readable(text).replace("|", "\\|").replace("\n", " ")


def _md_link(claim_id: str | None, ids: set[str]) -> str:
    if not claim_id:
        return ""
    return f"[`{claim_id}`](#{claim_id.replace('.', '')})" if claim_id in ids else f"`{claim_id}`"


def markdown_sections(doc: dict[str, Any]) -> list[str]:
    """Markdown lines for the top of report.md: each non-empty section, most urgent first."""
    ids, mode = {r["id"] for r in doc["claims"]}, outcome(doc)["mode"]
    lines = [f"**{status_line(doc)}**", ""]
    for title, why, recs in sections(doc):
        if not recs:
            continue
        lines += [f"## {title} ({len(recs)})", "", f"_{why}_", ""]
        for r in recs:
            note = note_of(r, mode)
            twin = (r.get("expected") or {}).get("corrected") or r.get("corrected")
            if twin and twin in ids:
                note = note.replace(f"Corrected twin: {twin}.", f"Corrected twin: {_md_link(twin, ids)}.")
            lines.append(f"- **{_md_link(r['id'], ids)}** ({r['ref']}): {_cell(note)}  ")
            cx = (r.get("counterexample") or {}).get("instance")
            if cx is not None:
                lines.append(f"  counterexample: `{_cell('; '.join(instance_text(cx, 400).splitlines()))}`  ")
            if r.get("replay"):
                lines.append(f"  replay: `{r['replay']}`")
        lines.append("")
    return lines


def html_sections(doc: dict[str, Any]) -> str:
    """The same sections for report.html: urgent ones as alerts, the errata in a quieter box."""
    ids, mode = {r["id"] for r in doc["claims"]}, outcome(doc)["mode"]
    esc = html.escape
    parts = [f"<p><b>{esc(status_line(doc))}</b></p>"]
    for title, why, recs in sections(doc):
        if not recs:
            continue
        items = []
        for r in recs:
            link = f'<a href="#c-{esc(r["id"].replace(".", "-"))}">' if r["id"] in ids else "<span>"
            close = "</a>" if r["id"] in ids else "</span>"
            cx = (r.get("counterexample") or {}).get("instance")
            shown = f"<pre>{esc(instance_text(cx))}</pre>" if cx is not None else ""
            replay = f"<div>replay: <code>{esc(r['replay'])}</code></div>" if r.get("replay") else ""
            items.append(
                f"<h3>{link}<code>{esc(r['id'])}</code>{close} — {esc(r['ref'])}</h3>"
                f'<div class="meta">{esc(readable(note_of(r, mode)))}</div>{shown}{replay}'
            )
        box = (
            'class="quiet" style="background:#f6f8fa;border:1px solid #e3e7eb;border-radius:8px;'
            'padding:10px 14px;margin:12px 0"'
            if quiet(title)
            else 'class="alert"'
        )
        parts.append(
            f'<div {box}><h2 style="margin-top:0">{esc(title)} ({len(recs)})</h2>'
            f'<div class="meta">{esc(why)}</div>{"<hr>".join(items)}</div>'
        )
    return "".join(parts)


def ci_summary(doc: dict[str, Any], report: str | None = None) -> str:
    """A short Markdown for a CI job summary: the outcome, what differs (or the defects) first as a
    table, the errata folded away, and where the full report is."""
    out, prov = outcome(doc), doc["provenance"]
    what = f"check of `{prov['implementation']}`" if out["mode"] == "check" else "verify"
    mark = "✅" if out["status"] == 0 else "❌"
    lines = [f"## {mark} flatcheck {what}", "", status_line(doc), ""]
    for title, _why, recs in sections(doc):
        if not recs:
            continue
        shown = recs[:MAX_ROWS]
        more = ["", f"… and {len(recs) - len(shown)} more in the full report"] if len(recs) > len(shown) else []
        if quiet(title):
            lines += [f"<details><summary>{html.escape(title, quote=False)} ({len(recs)})</summary>", ""]
            lines += [f"- `{r['id']}`: {_cell(note_of(r, out['mode']))[:REASON_CHARS]}" for r in shown]
            lines += [*more, "", "</details>", ""]
            continue
        lines += [f"### {title} ({len(recs)})", "", "| claim | verdict | reason | replay |", "|---|---|---|---|"]
        for r in shown:
            verdict = expectation_text(r) if r.get("expected") and out["mode"] == "verify" else r["verdict"]
            lines.append(
                f"| `{r['id']}` | {verdict} | {_cell(r['reason'])[:REASON_CHARS]} | `{_cell(r.get('replay', ''))}` |"
            )
        lines += [*more, ""]
    where = f"Full report: `{report}` · " if report else ""
    lines.append(f"{where}profile `{prov['profile']}`, seed {prov['seed']}, device {prov['device']}")
    return "\n".join(lines) + "\n"
