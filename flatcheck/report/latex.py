"""LaTeX statements as images for an offline report: matplotlib's mathtext renders the subset of
LaTeX it knows to SVG; a statement outside that subset comes back as None and is shown as source."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import mathtext  # noqa: E402  (the backend must be chosen first)
from matplotlib.font_manager import FontProperties  # noqa: E402

# Rewrites from common LaTeX to mathtext's dialect; each keeps the meaning of the formula.
_REWRITES = (
    (re.compile(r"\\[td]frac\s*(\d)\s*(\d)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\[td]frac"), r"\\frac"),
    (re.compile(r"\\frac\s*(\\[a-zA-Z]+|\w)\s*(\\[a-zA-Z]+|\w)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\(big|Big|bigg|Bigg)[lrm]?(?![a-zA-Z])"), ""),
    (re.compile(r"\\(mathcal|mathbb|mathrm|mathbf|bar|hat|tilde|sqrt)\s*([A-Za-z0-9])"), r"\\\1{\2}"),
    (re.compile(r"\\le(?![a-zA-Z])"), r"\\leq"),
    (re.compile(r"\\ge(?![a-zA-Z])"), r"\\geq"),
    (re.compile(r"\\!"), ""),
    (re.compile(r"\\(displaystyle|textstyle|nonumber)(?![a-zA-Z])"), ""),
    (re.compile(r"\s*\\\\\s*"), r"\\quad "),
)


def to_mathtext(tex: str) -> str:
    for pattern, repl in _REWRITES:
        tex = pattern.sub(repl, tex)
    return tex.strip()


@lru_cache(maxsize=512)
def svg_data_uri(tex: str, size: int = 15) -> str | None:
    """An SVG data URI of the rendered formula, or None when mathtext cannot parse it.

    mathtext's parser takes about 0.15 s a statement, most of a report's writing time; the images
    are kept on disk (`cache_dir()`), keyed by the formula, the size and matplotlib's version."""
    if not tex.strip() or "\\begin" in tex or len(tex) > 600:
        return None
    key = hashlib.sha256(f"{matplotlib.__version__}|{size}|{tex}".encode()).hexdigest()
    path = cache_dir() / f"{key}.svg"
    try:
        svg = path.read_bytes()
    except OSError:
        svg = _render_svg(tex, size)
        _store(path, svg)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii") if svg else None


def cache_dir() -> Path:
    """Where rendered statements are kept: $FLATCHECK_CACHE, else $XDG_CACHE_HOME/flatcheck, else ~/.cache/flatcheck."""
    if os.environ.get("FLATCHECK_CACHE"):
        return Path(os.environ["FLATCHECK_CACHE"]) / "formulas"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flatcheck" / "formulas"


def _render_svg(tex: str, size: int) -> bytes:
    """The SVG bytes, or b"" when mathtext cannot parse the formula (cached too: it will not parse next time)."""
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mathtext.math_to_image(f"${to_mathtext(tex)}$", buf, format="svg", prop=FontProperties(size=size))
    except Exception:  # mathtext's parser raises ValueError and friends on what it does not know
        return b""
    return buf.getvalue()


def _store(path: Path, svg: bytes) -> None:
    # Written under a temporary name and renamed, so a reader never sees half a file; a cache that
    # cannot be written (read-only home) only costs the rendering next time.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(svg)
        tmp.replace(path)
    except OSError:
        pass
