"""LaTeX statements as images for an offline report: matplotlib's mathtext renders the subset of
LaTeX it knows to SVG; a statement outside that subset comes back as None and is shown as source."""

from __future__ import annotations

import base64
import io
import re
import warnings
from functools import lru_cache

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
    """An SVG data URI of the rendered formula, or None when mathtext cannot parse it."""
    if not tex.strip() or "\\begin" in tex or len(tex) > 600:
        return None
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mathtext.math_to_image(f"${to_mathtext(tex)}$", buf, format="svg", prop=FontProperties(size=size))
    except Exception:  # mathtext's parser raises ValueError and friends on what it does not know
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
