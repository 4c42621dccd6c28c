"""The HTML report: one self-contained file (inline CSS, formulas as SVG and plots as PNG data URIs,
no script and no network asset), readable offline. Reads only the results document."""

from __future__ import annotations

import html
import json
from typing import Any

from flatcheck.report.latex import svg_data_uri
from flatcheck.report.png import plot_rows, render_png
from flatcheck.report.strength import evidence_caption, faith_kind, faith_text, mutant_tally, strength_text
from flatcheck.report.summary import html_sections
from flatcheck.report.text import (
    ORDER,
    derivation_caption,
    fmt,
    instance_text,
    partial_note,
    readable,
    run_cost,
    sorted_claims,
)

CSS = """
body{font:15px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d2329;max-width:1180px;
 margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:1px solid #dde2e6;
 padding-bottom:4px}h3{font-size:17px;margin:0 0 6px}
.sub{color:#5b6670;margin:0 0 14px}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0 14px}
th,td{border-bottom:1px solid #e6e9ec;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.paper td{background:#fafbfc;font-weight:600;color:#38424b;padding-top:9px}
code,pre{font:12.5px/1.4 'SFMono-Regular',Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #e3e7eb;border-radius:6px;padding:9px 11px;overflow-x:auto;
 white-space:pre-wrap;word-break:break-word;margin:6px 0 10px}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12.5px;font-weight:600;color:#fff;
 white-space:nowrap}
.verified{background:#2e8540}.falsified{background:#c62828}.inconclusive{background:#b7791f}.error{background:#6b4fa0}
.chips .badge{font-size:14px;padding:3px 12px;margin-right:6px}
.claim{border:1px solid #e1e5e9;border-radius:8px;padding:14px 18px;margin:16px 0}
.claim.falsified-box{border-left:5px solid #c62828}.claim.error-box{border-left:5px solid #6b4fa0}
.claim.inconclusive-box{border-left:5px solid #b7791f}.claim.verified-box{border-left:5px solid #2e8540}
.meta{color:#5b6670;font-size:13px;margin:2px 0 8px}
.formula{margin:8px 0 10px;overflow-x:auto}.formula img{max-width:100%;height:auto}
pre.sympy{line-height:1.12}.claim table{width:auto;min-width:46%}h3 code{font-size:15px}
.plot img{max-width:100%;border:1px solid #eef0f2;border-radius:4px}
.label{font-weight:600;font-size:13px;color:#38424b;margin:10px 0 2px}
.alert{background:#fdecea;border:1px solid #f5c2c0;border-radius:8px;padding:10px 14px;margin:12px 0}
.alert h3{color:#a32020}details summary{cursor:pointer;color:#38424b;font-size:13px}
a{color:#1f5fa8;text-decoration:none}a:hover{text-decoration:underline}
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def badge(verdict: str) -> str:
    return f'<span class="badge {esc(verdict)}">{esc(verdict)}</span>'


def anchor(claim_id: str) -> str:
    return "c-" + claim_id.replace(".", "-")


def formula(tex: str) -> str:
    uri = svg_data_uri(tex)
    if uri:
        return f'<div class="formula"><img alt="{esc(tex)}" src="{uri}"></div>'
    return f'<pre class="latex">{esc(tex)}</pre>'


def plot_html(spec: Any) -> str:
    if not isinstance(spec, dict):
        return ""
    try:
        return f'<div class="plot"><img alt="plot" src="data:image/png;base64,{render_png(spec)}"></div>'
    except Exception as e:  # a plot must never break the report: show its data instead
        rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td>{esc(v)}</td></tr>" for k, v in plot_rows(spec))
        return f'<div class="label">Plot data (not drawn: {esc(e)})</div><table>{rows}</table>'


def values_table(values: dict[str, Any]) -> str:
    if not values:
        return ""
    rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td>{esc(fmt(v))}</td></tr>" for k, v in values.items())
    return f"<table><tr><th>quantity</th><th>value</th></tr>{rows}</table>"


def evidence_html(label: str, ev: dict[str, Any] | None) -> str:
    if not ev:
        return ""
    parts = [f'<div class="label">{esc(label)}</div>']
    if ev.get("instance") is not None:
        parts.append(f"<pre>{esc(instance_text(ev['instance']))}</pre>")
    parts.append(values_table(ev.get("values") or {}))
    if ev.get("note"):
        parts.append(f'<div class="meta">{esc(readable(ev["note"]))}</div>')
    parts.append(plot_html(ev.get("plot")))
    return "".join(parts)


def faith_html(r: dict[str, Any]) -> str:
    """The declared faithfulness: its kind in bold (so that a restricted verdict stands out), then its scope."""
    kind, full = faith_kind(r) or "undeclared", faith_text(r)
    return f'<span class="faith"><b>{esc(kind)}</b>{esc(full[len(kind) :])}</span>'


def summary_table(claims: list[dict[str, Any]], kills: dict[str, dict[str, int]]) -> str:
    head = (
        "<tr><th>verdict</th><th>claim</th><th>faithfulness</th><th>evidence</th><th>kind</th><th>reference</th>"
        "<th>time (s)</th><th>reason</th></tr>"
    )
    rows = []
    # Papers in the order of their worst claim (claims come sorted falsified-first).
    for paper in dict.fromkeys(r["paper"] for r in claims):
        mine = [r for r in claims if r["paper"] == paper]
        tally = {v: sum(r["verdict"] == v for r in mine) for v in ORDER}
        counts = " · ".join(f"{n} {v}" for v, n in tally.items() if n)
        rows.append(f'<tr class="paper"><td colspan="8">{esc(paper)} — {esc(counts)}</td></tr>')
        for r in mine:
            rows.append(
                f'<tr><td>{badge(r["verdict"])}</td><td><a href="#{anchor(r["id"])}"><code>{esc(r["id"])}</code></a>'
                f"</td><td>{faith_html(r)}</td><td>{esc(strength_text(r, kills))}</td>"
                f'<td>{esc(r["kind"])}</td><td>{esc(r["ref"])}</td><td class="num">{r["time_s"]:.2f}</td>'
                f"<td>{esc(readable(r['reason']))}</td></tr>"
            )
    return f"<table>{head}{''.join(rows)}</table>"


def claim_html(r: dict[str, Any], kills: dict[str, dict[str, int]]) -> str:
    parts = [
        f'<div class="claim {esc(r["verdict"])}-box" id="{anchor(r["id"])}">',
        f"<h3><code>{esc(r['id'])}</code> {badge(r['verdict'])}</h3>",
        f'<div class="meta">{esc(r["paper"])} · {esc(r["ref"])} · {esc(r["kind"])}'
        + (f" · implementation <code>{esc(r['impl'])}</code>" if r.get("impl") else "")
        + f" · {r['time_s']:.2f} s · {r['examples']} instances ({r['passed']} passed, {r['undecided']} undecided, "
        f"{r['out_of_scope']} out of scope)</div>",
        f"<div>{esc(r['summary'])}</div>",
        f'<div class="label">Faithfulness</div><div>{faith_html(r)}</div>',
        f'<div class="label">Evidence</div><div>{esc(strength_text(r, kills))}</div>',
    ]
    if r.get("statement"):
        parts += ['<div class="label">Statement</div>', formula(r["statement"])]
    parts.append(f'<div class="label">Verdict</div><div>{esc(readable(r["reason"]))}</div>')
    if r.get("derivation"):
        parts += [
            '<div class="label">Symbolic derivation (exact, computed by sympy)</div>',
            f'<div class="meta">{esc(derivation_caption(r))}</div>',
            f'<pre class="sympy">{esc(r["derivation"][:4000])}</pre>',
        ]
    parts.append(evidence_html("Counterexample (the simplest found)", r.get("counterexample")))
    parts.append(evidence_html("Evidence (tightest passing instance)", r.get("evidence")))
    parts.append(f'<div class="label">Replay</div><code>{esc(r["replay"])}</code>')
    if r.get("traceback"):
        parts.append(f"<details><summary>traceback</summary><pre>{esc(r['traceback'][-6000:])}</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def provenance_html(prov: dict[str, Any]) -> str:
    flat = {k: v for k, v in prov.items() if k not in ("versions", "options")}
    flat.update({f"option: {k}": v for k, v in (prov.get("options") or {}).items()})
    flat.update({f"version: {k}": v for k, v in (prov.get("versions") or {}).items()})
    rows = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(fmt(v))}</code></td></tr>" for k, v in flat.items())
    return f"<table>{rows}</table>"


def render_html(doc: dict[str, Any], mutants: dict[str, Any] | None = None) -> str:
    """The HTML report; `mutants` is the document of a `flatcheck mutate` run whose kills it shows."""
    prov, s = doc["provenance"], doc["summary"]
    kills = mutant_tally(mutants)
    claims = sorted_claims(doc["claims"])
    chips = "".join(
        f'<span class="badge {v}">{s.get(v, 0)} {v}</span>' for v in ("verified", "falsified", "inconclusive", "error")
    )
    sub = (
        f"profile <b>{esc(prov.get('profile'))}</b> · seed {esc(prov.get('seed'))} · device {esc(prov.get('device'))}"
        f" · {esc(prov.get('dtype'))} · {esc(run_cost(prov))}"
        f" · flatcheck {esc(prov.get('flatcheck_version'))} ({esc((prov.get('git_commit') or 'no git')[:10])})"
        f" · {esc(prov.get('started', ''))}"
    )
    if prov.get("implementation"):
        sub += f" · implementation <code>{esc(prov['implementation'])}</code>"
        if prov.get("checked_as"):
            sub += f" checked as {esc(prov['checked_as'])}"
    partial = partial_note(prov, len(claims))
    body = [
        "<h1>flatcheck verification report" + (" (partial)" if partial else "") + "</h1>",
        f'<p class="sub">{sub}</p>',
        f'<div class="alert partial"><b>{esc(partial)}</b></div>' if partial else "",
        f'<p class="chips">{chips}</p>',
        html_sections(doc),
        "<h2>Summary</h2>",
        f'<div class="meta">{esc(evidence_caption(mutants))}</div>',
        summary_table(claims, kills),
        "<h2>Claims</h2>",
        *[claim_html(r, kills) for r in claims],
        "<h2>Provenance</h2>",
        provenance_html(prov),
        f"<details><summary>provenance as JSON</summary><pre>{esc(json.dumps(prov, indent=1))}</pre></details>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>flatcheck report</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
