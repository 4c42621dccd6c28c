"""A plot's PNG, drawn once: the drawing (most of a report's writing time) is kept on disk
(`flatcheck.cache`), keyed by the plot's data, matplotlib's version and the source of the drawing
code, so that a report of the same evidence (a second run, `flatcheck report`) draws nothing and
does not even import matplotlib's figure machinery."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flatcheck import cache

_DRAWING = Path(__file__).with_name("plots.py")


def render_png(spec: dict[str, Any]) -> str:
    """The plot as a base64 PNG. Raises ValueError/KeyError/TypeError when it cannot be drawn."""
    # The Markdown and HTML reports draw the same plots: draw each once. The key keeps the order of
    # the series, which sets their colours and legend order.
    return _render_cached(json.dumps(spec, default=str))


@lru_cache(maxsize=256)
def _render_cached(text: str) -> str:
    key = f"matplotlib {cache.version_of('matplotlib')} {cache.source_hash(_DRAWING)}\n{text}"
    kind, value = cache.memo("plots", key, lambda: _draw(text))
    if kind in _NOT_DRAWN:  # kept too: it will not be drawn next time either
        raise _NOT_DRAWN[kind](*value)
    return value


# What plots.render_png raises for data it cannot draw (the report shows them as a table).
_NOT_DRAWN: dict[str, type[Exception]] = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError}


def _draw(text: str) -> tuple[str, Any]:
    from flatcheck.report.plots import render_png as draw

    try:
        return "png", draw(json.loads(text))
    except tuple(_NOT_DRAWN.values()) as e:
        return type(e).__name__, e.args


def plot_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The plot's data as (key, value) rows: the fallback when it cannot be drawn (here,
    not in `plots`: a report whose undrawable plots are on disk never imports matplotlib)."""
    rows = []
    for k, v in spec.items():
        text = repr(v)
        rows.append((str(k), text if len(text) <= 400 else text[:400] + " …"))
    return rows
