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
    return cache.memo("plots", key, lambda: _draw(text), str.encode, bytes.decode)


def _draw(text: str) -> str:
    from flatcheck.report.plots import render_png as draw

    return draw(json.loads(text))
