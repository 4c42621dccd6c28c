"""LaTeX statements as images for an offline report: matplotlib's mathtext renders the subset of
LaTeX it knows to SVG; a statement outside that subset comes back as None and is shown as source."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
from functools import lru_cache
from pathlib import Path

from flatcheck import cache

# A braced group with up to one level of nested braces: {a}, {\rho^{2}}.
_GROUP = r"\{(?:[^{}]|\{[^{}]*\})*\}"
_ATOM = r"(?:\\[a-zA-Z]+|\w)"

# Rewrites from common LaTeX to mathtext's dialect; each keeps the meaning of the formula.
_REWRITES = (
    (re.compile(r"\\[td]frac\s*(\d)\s*(\d)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\[td]frac"), r"\\frac"),
    (re.compile(rf"\\frac\s*({_ATOM})\s*({_ATOM})"), r"\\frac{\1}{\2}"),
    # mathtext wants both arguments of \frac braced: \frac{2}\eta, \frac\eta{2}.
    (re.compile(rf"\\frac\s*({_GROUP})\s*({_ATOM})"), r"\\frac\1{\2}"),
    (re.compile(rf"\\frac\s*({_ATOM})\s*\{{"), r"\\frac{\1}{"),
    (re.compile(r"\\(big|Big|bigg|Bigg)[lrm]?(?![a-zA-Z])"), ""),
    (re.compile(r"\\(mathcal|mathbb|mathrm|mathbf|bar|hat|tilde|sqrt)\s*([A-Za-z0-9])"), r"\\\1{\2}"),
    (re.compile(r"\\sqrt\s*(\\[a-zA-Z]+)"), r"\\sqrt{\1}"),
    (re.compile(r"\\le(?![a-zA-Z])"), r"\\leq"),
    (re.compile(r"\\ge(?![a-zA-Z])"), r"\\geq"),
    (re.compile(r"\\lor(?![a-zA-Z])"), r"\\vee"),
    (re.compile(r"\\land(?![a-zA-Z])"), r"\\wedge"),
    (re.compile(r"\\iff(?![a-zA-Z])"), r"\\Leftrightarrow"),
    (re.compile(r"\\!"), ""),
    (re.compile(r"\\(displaystyle|textstyle|nonumber)(?![a-zA-Z])"), ""),
)
_BMATRIX = re.compile(r"\\begin\{[bp]?matrix\}(.*?)\\end\{[bp]?matrix\}", re.S)


def _two_row_matrix(m: re.Match) -> str:
    """A two-row matrix as bracketed columns of rule-less fractions (mathtext has no arrays)."""
    rows = [r.split("&") for r in re.split(r"\\\\", m.group(1))]
    if len(rows) != 2 or len(rows[0]) != len(rows[1]):
        return m.group(0)
    cols = [rf"\genfrac{{}}{{}}{{0}}{{}}{{{a.strip()}}}{{{b.strip()}}}" for a, b in zip(*rows)]
    return r"\left[" + r"\ ".join(cols) + r"\right]"


def to_mathtext(tex: str) -> str:
    tex = _BMATRIX.sub(_two_row_matrix, tex)
    for pattern, repl in _REWRITES:
        tex = pattern.sub(repl, tex)
    # Inline math sets a fraction at two thirds of the text size, too small to read in a formula
    # image: every fraction is set at display size.
    tex = re.sub(r"\\frac(?![a-zA-Z])", r"\\dfrac", tex)
    # A line break left over (outside a matrix) becomes a wide space.
    return re.sub(r"\s*\\\\\s*", r"\\quad ", tex).strip()


@lru_cache(maxsize=512)
def svg_data_uri(tex: str, size: int = 18) -> str | None:
    """An SVG data URI of the rendered formula, or None when mathtext cannot parse it.

    mathtext's parser takes about 0.15 s a statement, most of a report's writing time; the images
    are kept on disk (`cache_dir()`), keyed by the mathtext formula, the size and matplotlib's version."""
    text = to_mathtext(tex)
    if not text or "\\begin" in text or len(tex) > 600:
        return None
    key = hashlib.sha256(f"{cache.version_of('matplotlib')}|{size}|{text}".encode()).hexdigest()
    path = cache_dir() / f"{key}.svg"
    try:
        if not cache.enabled():
            raise FileNotFoundError(path)
        svg = path.read_bytes()
    except OSError:
        svg = _render_svg(text, size)
        if cache.enabled():
            cache.write_atomic(path, svg)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii") if svg else None


def cache_dir() -> Path:
    """Where rendered statements are kept: `formulas` in flatcheck's cache (`flatcheck.cache.root()`)."""
    return cache.root() / "formulas"


def _render_svg(text: str, size: int) -> bytes:
    """The SVG bytes of a mathtext formula, or b"" when mathtext cannot parse it (cached too: it will
    not parse next time either)."""
    # Imported here: mathtext's machinery costs a second to import, and a report whose statements
    # are all on disk never needs it.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mathtext.math_to_image(f"${text}$", buf, format="svg", prop=FontProperties(size=size))
    except Exception:  # mathtext's parser raises ValueError and friends on what it does not know
        return b""
    return buf.getvalue()
