"""Writes a results document as the report directory: results.json, report.md with plots/, report.html."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from flatcheck.report.html import render_html
from flatcheck.report.markdown import plot_name, render
from flatcheck.report.png import render_png
from flatcheck.report.results import write_json


def write_plots(doc: dict[str, Any], out: Path) -> set[str]:
    """PNG files for the Markdown report; returns the names written (a plot that cannot be drawn is skipped
    here — the HTML report shows its data as a table)."""
    written = set()
    for r in doc["claims"]:
        for key in ("counterexample", "evidence"):
            spec = (r.get(key) or {}).get("plot")
            if not isinstance(spec, dict):
                continue
            try:
                png = render_png(spec)
            except Exception:  # drawn as a table in the HTML instead; never fails the report
                continue
            name = plot_name(r["id"], key)
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(base64.b64decode(png))
            written.add(name)
    return written


def write_report(doc: dict[str, Any], out: Path, with_json: bool = True, mutants: dict[str, Any] | None = None) -> None:
    """results.json (unless `with_json` is off), report.md with plots/ and report.html; `mutants`,
    the document of a `flatcheck mutate` run, adds the mutants killed to each claim's evidence."""
    out.mkdir(parents=True, exist_ok=True)
    if with_json:
        write_json(doc, out / "results.json")
    plots = write_plots(doc, out)
    (out / "report.md").write_text(render(doc, plots, mutants), encoding="utf-8")
    (out / "report.html").write_text(render_html(doc, mutants), encoding="utf-8")
