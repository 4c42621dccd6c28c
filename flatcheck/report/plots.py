"""Plots of a claim's evidence, drawn with matplotlib (Agg) and embedded in the HTML report as PNG.

A check hands plot data in ``Evidence.plot``: a JSON-able dict with a ``"type"`` key and the
fields of that type below. Every type also accepts the optional keys ``"title"`` (str),
``"xlabel"``, ``"ylabel"`` (str; plain text or mathtext such as ``"$\\rho$"``). Numbers are floats
(``"inf"``/``"nan"`` strings, as the runner writes non-finite floats, are tolerated and skipped, as
are non-positive values on a log axis). A plot of an unknown type, or one whose data do not fit its
type, is shown as a table instead — a report never fails because of a plot.

``"loglog"`` — a remainder against ρ (σ, ε …) on log-log axes, with the claimed order.
    x: [float]                    the sequence of ρ
    y: [float]                    |remainder| at each ρ (non-positive values are skipped)
    reference_order: float        optional; a dashed line of slope reference_order through the
                                  smallest-ρ point, labelled "order p (claimed)"
    fitted_order: float           optional; the fitted order, shown in the legend

``"lines"`` — several curves over one x axis: estimate vs bound over T, tr∇²f along a run, …
    x: [float]                    shared abscissa (optional; default 0, 1, 2, …)
    series: {name: [float]}       one curve per name, same length as x; names of the form
                                  "a=1, b=2" with a few values of a are coloured by a (one hue
                                  each) and shaded by b
    bands: {name: [[lo], [hi]]}   optional; a shaded interval (confidence band) around a series,
                                  drawn in that series' colour
    reference: {name: float}      optional; horizontal reference lines (a limit, a bound)
    logx, logy: bool              optional; log scales

``"scatter"`` — points, e.g. predicted vs measured over instances.
    x: [float], y: [float]        the points
    c: [float]                    optional; a colour value per point (with a colour bar)
    clabel: str                   optional; the colour bar's label
    diagonal: bool                optional; draw y = x (prediction = measurement)
    logx, logy: bool              optional

``"phase"`` — a phase diagram: a scalar over a 2-D parameter grid, with region boundaries.
    x: [float]  (length nx)       grid abscissae
    y: [float]  (length ny)       grid ordinates
    z: [[float]] (ny rows × nx)   the value at (x[j], y[i]) is z[i][j]
    zlabel: str                   optional; colour bar label
    boundaries: [{"x": [float], "y": [float], "label": str}]
                                  optional; curves drawn over the map (e.g. η λ₁ = 2)
    points: [{"x": float, "y": float, "label": str}]
                                  optional; marked points (a minimizer, the start)

``"trajectories"`` — paths in a plane, with limit flows or manifolds to compare against
(limit-flow tracking, iterates approaching a minimizer).
    paths: {name: {"x": [float], "y": [float]}}      solid curves, start marked with a dot
    reference: {name: {"x": [float], "y": [float]}}  optional; dashed curves (the limit flow, Γ)
    points: [{"x": float, "y": float, "label": str}] optional; marked points

``"panels"`` — several of the above in a grid of at most two columns (at most 4 shown).
    panels: [plot, …]             each a dict of one of the types above

Layout: every figure is laid out by matplotlib's constrained layout, so titles, axis labels, colour
bars and legends stay inside it; long texts are wrapped; a legend that would crowd the axes goes
beside or below them and the figure grows to hold it; tick labels that would still touch one another
are thinned after a first layout pass (decades kept first on log axes). ``figure`` returns the laid-out
figure, which tests measure.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import cycle
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import image, ticker  # noqa: E402  (the backend must be chosen before pyplot loads)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure, FigureBase, SubFigure  # noqa: E402

PLOT_TYPES = ("loglog", "lines", "scatter", "phase", "trajectories", "panels")
MAX_PANELS = 4
DPI = 90
SIZE = (6.0, 4.0)  # inches, one plot
PANEL_SIZE = (5.2, 3.8)  # inches, one cell of a panel grid
FONT = 9  # tick labels, legends, colour-bar labels
# Wrap widths in characters (DejaVu Sans at 9-10 pt is about 5.5 pt a character).
WRAP = {"title": 62, "xlabel": 64, "ylabel": 40, "legend": 30, "legend_below": 60, "colorbar": 36}
PANEL_SHRINK = 0.8  # a panel cell is narrower: its texts wrap at this fraction of the widths above
TICK_GAP = 2.0  # pixels kept free between two tick labels
MAX_LEGEND_ROWS = 20
SHORT_LOG_SPAN = 0.5  # decades; a log axis shorter than this gets evenly stepped ticks


def num(v: Any) -> float:
    """A float from JSON data, NaN for anything that is not a number (skipped when drawn)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def nums(vs: Any) -> list[float]:
    if not isinstance(vs, (list, tuple)):
        raise ValueError(f"expected a list of numbers, got {type(vs).__name__}")
    return [num(v) for v in vs]


def wrap(text: str, width: int) -> str:
    """`text` broken at spaces into lines of at most `width` characters (a longer word keeps its
    line); a mathtext span ``$…$`` is never broken, since half of one does not parse."""
    words = re.findall(r"\S*\$[^$]*\$\S*|\S+", str(text))
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return "\n".join(lines)


# ---- colours -------------------------------------------------------------------------------------

_GROUP_MAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys")
_GROUP_SIZE = 6  # shades of one hue that stay told apart


def _grouped_colours(names: Sequence[str]) -> list[Any] | None:
    """Names "a=…, b=…" with 2–6 values of the first part: one hue per value of the first part, one
    shade per value of the rest (dark to light in the given order). None when the names do not split so."""
    parts = [n.split(", ", 1) for n in names]
    if any(len(p) != 2 for p in parts):
        return None
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(parts):
        groups.setdefault(p[0], []).append(i)
    if not 2 <= len(groups) <= len(_GROUP_MAPS) or max(len(m) for m in groups.values()) > _GROUP_SIZE:
        return None
    colours: list[Any] = [None] * len(names)
    for members, cmap in zip(groups.values(), _GROUP_MAPS):
        shades = matplotlib.colormaps[cmap]
        for j, i in enumerate(members):
            colours[i] = shades(0.95 - 0.5 * j / max(len(members) - 1, 1))
    return colours


def series_styles(names: Sequence[str]) -> list[dict[str, Any]]:
    """A distinct colour (and, past 20 series, also a line style) for each of `names`: the ten
    'tab10' colours; past ten, hue by group and shade by member when the names are "a=…, b=…",
    else 'tab20' (strong colours before their light twins), else evenly spaced along 'turbo'."""
    n = len(names)
    if n <= 10:
        return [{"color": matplotlib.colormaps["tab10"](i)} for i in range(n)]
    grouped = _grouped_colours(names)
    if grouped is not None:
        return [{"color": c} for c in grouped]
    if n <= 20:
        tab20 = matplotlib.colormaps["tab20"]
        return [{"color": tab20(2 * i if i < 10 else 2 * (i - 10) + 1)} for i in range(n)]
    turbo = matplotlib.colormaps["turbo"]
    dashes = cycle(["-", "--", ":", "-."])
    return [{"color": turbo(0.05 + 0.9 * i / (n - 1)), "ls": next(dashes)} for i in range(n)]


# Reference curves and lines: greys and blacks, told apart by their dashes, never a series colour.
_REFERENCE_STYLES = (
    {"color": "0.35", "ls": "--"},
    {"color": "black", "ls": ":"},
    {"color": "0.55", "ls": "-."},
    {"color": "black", "ls": (0, (6, 2, 1, 2, 1, 2))},
)
_POINT_MARKERS = ("*", "D", "s", "^", "v", "P", "X", "p")


# ---- log-axis tick labels ------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class LogLabels(ticker.LogFormatter):
    """Log-axis tick labels in Unicode ("10⁻⁵", "2×10⁻³"; plain "0.05" on an axis within 0.001–10⁵)
    rather than mathtext, whose parser took about half of the report's drawing time. Labels the
    decades, also the 2s and 5s on an axis of one to three decades and every multiple on a shorter
    one; the layout pass then drops whatever still collides."""

    def set_locs(self, locs: Any = None) -> None:
        lo, hi = sorted(self.axis.get_view_interval())
        # One style per axis: plain numbers while all are short, else powers of ten throughout.
        self._plain = 1e-3 <= lo and hi < 1e5
        span = math.log10(hi / lo) if lo > 0 else math.inf
        self._sublabels = {1} if span > 3 else {1, 2, 5} if span > 1 else set(range(1, 11))

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        if self._plain:
            return f"{x:.6g}"
        exp = math.floor(math.log10(x) + 1e-9)
        coeff = x / 10.0**exp
        power = "10" + str(exp).translate(_SUPERSCRIPT)
        return power if abs(coeff - 1) < 1e-9 else f"{coeff:.6g}×{power}"


class PositiveSteps(ticker.MaxNLocator):
    """Evenly stepped ticks (as on a linear axis) for a log axis spanning a fraction of a decade."""

    def tick_values(self, vmin: float, vmax: float) -> Any:
        ticks = super().tick_values(vmin, vmax)
        return ticks[ticks > 0]


def _log_class(loc: float) -> int:
    """Which labels a crowded log axis keeps first: decades (0), then the 5s (1), the 2s (2), the rest."""
    coeff = round(loc / 10.0 ** math.floor(math.log10(loc) + 1e-9), 6)
    return {1.0: 0, 5.0: 1, 2.0: 2}.get(coeff, 3)


# ---- drawing -------------------------------------------------------------------------------------


def _finite(xs: list[float], ys: list[float], logx: bool = False, logy: bool = False) -> np.ndarray:
    """Indices of the points that can be drawn: finite, and positive on a log axis."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if logx:
        ok &= x > 0
    if logy:
        ok &= y > 0
    return np.flatnonzero(ok)


def _log_request(spec: dict[str, Any], axis: str, values: list[float]) -> bool:
    """The log scale asked for on `axis`, kept only when some value can be drawn on it."""
    return bool(spec.get(f"log{axis}")) and any(v > 0 and math.isfinite(v) for v in values)


def _masked(vs: list[float], log: bool) -> np.ndarray:
    """Values with the undrawable ones (non-finite; non-positive on a log axis) as NaN: a gap in the line."""
    a = np.asarray(vs, float)
    bad = ~np.isfinite(a) | ((a <= 0) if log else False)
    return np.where(bad, np.nan, a)


def _scales(ax: Any, logx: bool, logy: bool) -> None:
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")


def draw_loglog(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = nums(spec["x"]), nums(spec["y"])
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values for {len(ys)} y values")
    keep = _finite(xs, ys, logx=True, logy=True)
    if not len(keep):
        raise ValueError("no positive finite point to draw on log-log axes")
    x, y = np.asarray(xs)[keep], np.asarray(ys)[keep]
    label = "measured"
    if spec.get("fitted_order") is not None:
        label += f" (fitted order {num(spec['fitted_order']):.2f})"
    ax.loglog(x, y, "o-", ms=4, label=label, color="C0")
    p = spec.get("reference_order")
    if p is not None and math.isfinite(num(p)):
        p = num(p)
        # Anchor the reference slope at the smallest ρ, where the asymptotic order should show.
        i = int(np.argmin(x))
        ref = y[i] * (x / x[i]) ** p
        ok = np.isfinite(ref) & (ref > 0)
        ax.loglog(x[ok], ref[ok], label=f"order {p:g} (claimed)", **_REFERENCE_STYLES[0])


def draw_lines(ax: Any, spec: dict[str, Any]) -> None:
    series = spec["series"]
    if not isinstance(series, dict) or not series:
        raise ValueError("'series' must be a non-empty {name: [values]} mapping")
    values = {str(name): nums(vals) for name, vals in series.items()}
    every_y = [v for vs in values.values() for v in vs] + nums(list((spec.get("reference") or {}).values()))
    xs = nums(spec["x"]) if "x" in spec else None
    logx = _log_request(spec, "x", xs or [])
    logy = _log_request(spec, "y", every_y)
    bands = spec.get("bands") or {}
    for (name, ys), style in zip(values.items(), series_styles(list(values))):
        x = xs if xs is not None else list(range(len(ys)))
        if len(x) != len(ys):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(x)} x values")
        xm, ym = _masked(x, logx), _masked(ys, logy)
        ax.plot(xm, ym, marker="o" if len(x) <= 30 else None, ms=3, label=name, lw=1.4, **style)
        band = bands.get(name)
        if band:
            lo, hi = _masked(nums(band[0]), logy), _masked(nums(band[1]), logy)
            ax.fill_between(xm, lo, hi, color=style["color"], alpha=0.2, lw=0)
    for (name, val), style in zip((spec.get("reference") or {}).items(), cycle(_REFERENCE_STYLES)):
        v = num(val)
        if math.isfinite(v) and (v > 0 or not logy):
            ax.axhline(v, label=str(name), lw=1.2, **style)
    _scales(ax, logx, logy)


def draw_scatter(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = nums(spec["x"]), nums(spec["y"])
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values for {len(ys)} y values")
    logx, logy = _log_request(spec, "x", xs), _log_request(spec, "y", ys)
    keep = _finite(xs, ys, logx, logy)
    c = nums(spec["c"]) if spec.get("c") is not None else None
    if c is not None:
        if len(c) != len(xs):
            raise ValueError(f"{len(c)} colour values for {len(xs)} points")
        keep = [i for i in keep if math.isfinite(c[i])]
    if not len(keep):
        raise ValueError("no finite point to draw")
    x, y = np.asarray(xs)[keep], np.asarray(ys)[keep]
    if c is not None:
        sc = ax.scatter(x, y, c=np.asarray(c)[keep], s=20, cmap="viridis")
        _colorbar(ax, sc, spec.get("clabel", ""))
    else:
        ax.scatter(x, y, s=20, color="C0")
    if spec.get("diagonal"):
        both = np.concatenate([x, y])
        both = both[both > 0] if (logx or logy) else both
        if len(both):
            lo, hi = float(both.min()), float(both.max())
            ax.plot([lo, hi], [lo, hi], label="y = x", lw=1.2, **_REFERENCE_STYLES[0])
    _scales(ax, logx, logy)


def _colorbar(ax: Any, mappable: Any, label: Any) -> None:
    cb = ax.figure.colorbar(mappable, ax=ax)
    cb.set_label(wrap(str(label), _width(ax, "colorbar")), fontsize=FONT)
    cb.ax.tick_params(labelsize=FONT)


def _points(ax: Any, points: Any) -> None:
    """Marked points, each its own marker and legend entry; points at one place share one marker
    (whose entry names them all) so that none hides another."""
    merged: dict[tuple[float, float], list[str]] = {}
    for p in points or []:
        xy = (num(p["x"]), num(p["y"]))
        if all(math.isfinite(v) for v in xy):
            merged.setdefault(xy, []).append(str(p.get("label", "")))
    for ((x, y), labels), marker in zip(merged.items(), cycle(_POINT_MARKERS)):
        label = "; ".join(s for s in labels if s) or None
        ms = 13 if marker == "*" else 8
        ax.plot([x], [y], ls="none", marker=marker, ms=ms, mfc="black", mec="white", mew=0.8, label=label, zorder=5)


def draw_phase(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = nums(spec["x"]), nums(spec["y"])
    z = [nums(row) for row in spec["z"]]
    if not xs or not ys or len(z) != len(ys) or any(len(row) != len(xs) for row in z):
        raise ValueError(f"'z' must be {len(ys)} rows of {len(xs)} values")
    if not all(math.isfinite(v) for v in xs + ys):
        raise ValueError("grid coordinates must be finite")
    ix, iy = np.argsort(xs), np.argsort(ys)
    x, y = np.asarray(xs)[ix], np.asarray(ys)[iy]
    mesh = ax.pcolormesh(
        _edges(x), _edges(y), np.ma.masked_invalid(np.asarray(z, float)[np.ix_(iy, ix)]), shading="flat", cmap="viridis"
    )
    _colorbar(ax, mesh, spec.get("zlabel", ""))
    # The view spans the grid's centres, as the paper's axes do; boundary curves are cut at its edge.
    ax.set_xlim(*((x[0], x[-1]) if len(x) > 1 else _edges(x)))
    ax.set_ylim(*((y[0], y[-1]) if len(y) > 1 else _edges(y)))
    ax.set_autoscale_on(False)
    # Black dashes on a white rim show on the dark and the light end of the map, and the legend shows
    # the dashes alone, as on paper.
    for b, style in zip(spec.get("boundaries") or [], cycle(_REFERENCE_STYLES)):
        bx, by = nums(b["x"]), nums(b["y"])
        ax.plot(bx, by, color="white", lw=3.2, alpha=0.85)
        ax.plot(bx, by, color="black", ls=style["ls"], lw=1.5, label=str(b.get("label", "")) or None)
    _points(ax, spec.get("points"))


def _edges(c: np.ndarray) -> np.ndarray:
    """Cell edges around sorted grid centres `c`: midpoints inside, half a spacing beyond the ends
    (a one-point grid gets a unit cell)."""
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def draw_trajectories(ax: Any, spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    if not isinstance(paths, dict) or not paths:
        raise ValueError("'paths' must be a non-empty {name: {'x': [...], 'y': [...]}} mapping")
    for (name, p), style in zip(paths.items(), series_styles([str(k) for k in paths])):
        x, y = _masked(nums(p["x"]), False), _masked(nums(p["y"]), False)
        if len(x) != len(y):
            raise ValueError(f"path {name!r} has {len(x)} x values for {len(y)} y values")
        ax.plot(x, y, lw=1.4, label=str(name), **style)
        ax.plot(x[:1], y[:1], "o", color=style["color"], ms=5)
    for (name, p), style in zip((spec.get("reference") or {}).items(), cycle(_REFERENCE_STYLES)):
        ax.plot(_masked(nums(p["x"]), False), _masked(nums(p["y"]), False), lw=1.4, label=str(name), **style)
    _points(ax, spec.get("points"))


DRAW: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "loglog": draw_loglog,
    "lines": draw_lines,
    "scatter": draw_scatter,
    "phase": draw_phase,
    "trajectories": draw_trajectories,
}


# ---- texts and legends ---------------------------------------------------------------------------


def _width(ax: Any, what: str) -> int:
    in_panel = isinstance(ax.figure, SubFigure)
    return int(WRAP[what] * (PANEL_SHRINK if in_panel else 1))


def _texts(ax: Any, spec: dict[str, Any]) -> None:
    ax.set_xlabel(wrap(spec.get("xlabel", ""), _width(ax, "xlabel")))
    ax.set_ylabel(wrap(spec.get("ylabel", ""), _width(ax, "ylabel")))
    if spec.get("title"):
        ax.set_title(wrap(spec["title"], _width(ax, "title")), fontsize=10)
    ax.tick_params(labelsize=FONT)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.12)
    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        axis.set_major_formatter(LogLabels())
        if 0 < min(lo, hi) and abs(math.log10(hi / lo)) < SHORT_LOG_SPAN:
            # Too short a span for the multiples of a decade to label it: evenly stepped ticks instead.
            axis.set_major_locator(PositiveSteps(nbins=5, steps=[1, 2, 2.5, 5, 10]))
            axis.set_minor_formatter(ticker.NullFormatter())
        else:
            axis.set_minor_formatter(LogLabels())


def _legend(fig: FigureBase, ax: Any, kind: str) -> tuple[float, float]:
    """The legend, inside the axes when it is small and its labels short, else beside them (many
    entries) or below them (few long ones; always below a phase diagram, whose colour bar is beside it).
    Returns the room (width, height in inches) the figure must add for a legend outside."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return 0.0, 0.0
    n = len(handles)
    if kind != "phase" and n <= 3 and max(len(s) for s in labels) <= WRAP["legend"]:
        ax.legend(fontsize=FONT - 0.5, loc="best")
        return 0.0, 0.0
    below = kind == "phase" or n <= 3
    width = _width(ax, "legend_below" if below else "legend")
    texts = [wrap(s, width) for s in labels]
    ncol = math.ceil(n / MAX_LEGEND_ROWS) if not below else 2 if n > 1 and max(map(len, texts)) <= width // 2 else 1
    leg = fig.legend(
        handles,
        texts,
        loc="outside lower center" if below else "outside right upper",
        fontsize=FONT - 0.5,
        ncols=ncol,
        frameon=False,
    )
    box = leg.get_window_extent(fig.canvas.get_renderer())
    return (0.0, box.height / DPI + 0.1) if below else (box.width / DPI + 0.15, box.height / DPI + 0.3)


def _draw(fig: FigureBase, spec: dict[str, Any]) -> tuple[float, float]:
    ax = fig.add_subplot()
    DRAW[spec["type"]](ax, spec)
    _texts(ax, spec)
    return _legend(fig, ax, spec["type"])


# ---- tick-label thinning -------------------------------------------------------------------------


def _drawn_labels(axis: Any, renderer: Any) -> list[tuple[float, Any, Any]]:
    """(location, label, window box) of the tick labels the last draw showed, in axis order."""
    ax_box = axis.axes.get_window_extent(renderer)
    lo, hi = (ax_box.x0, ax_box.x1) if axis.axis_name == "x" else (ax_box.y0, ax_box.y1)
    out = []
    for ticks, locs in (
        (axis.get_major_ticks(), axis.get_majorticklocs()),
        (axis.get_minor_ticks(), axis.get_minorticklocs()),
    ):
        for tick, loc in zip(ticks, locs):
            label = tick.label1
            if not (label.get_visible() and label.get_text()):
                continue
            box = label.get_window_extent(renderer)
            centre = (box.x0 + box.x1) / 2 if axis.axis_name == "x" else (box.y0 + box.y1) / 2
            if lo - 1 <= centre <= hi + 1:  # ticks the locator gave beyond the view are not drawn
                out.append((float(loc), label, box))
    return sorted(out, key=lambda t: t[0])


def _spread(cands: list[Any], kept: list[Any]) -> list[Any]:
    """The candidates clear of the kept labels, then every k-th of those for the least k at which
    none touches another."""

    def clash(a: Any, b: Any) -> bool:
        return a[2].padded(TICK_GAP / 2).overlaps(b[2].padded(TICK_GAP / 2))

    free = [c for c in cands if not any(clash(c, k) for k in kept)]
    for k in range(1, len(free) + 1):
        pick = free[::k]
        if not any(clash(a, b) for i, a in enumerate(pick) for b in pick[i + 1 :]):
            return pick
    return []


def _thin(axis: Any, renderer: Any) -> bool:
    """Drops the tick labels that touch another (on a log axis the decades are kept first, then the
    5s, then the 2s) and freezes the ticks so that the next layout pass draws the same ones.
    Returns whether any label was dropped."""
    drawn = _drawn_labels(axis, renderer)
    if axis.get_scale() == "log":
        classes = [[d for d in drawn if _log_class(d[0]) == c] for c in range(4)]
    else:
        classes = [drawn]
    kept: list[Any] = []
    for members in classes:
        kept += _spread(members, kept)
    if len(kept) == len(drawn):
        return False
    text = {loc: label.get_text() for loc, label, _ in kept}
    offset = axis.get_major_formatter().get_offset()
    axis.set_major_locator(ticker.FixedLocator(axis.get_majorticklocs()))
    axis.set_minor_locator(ticker.FixedLocator(axis.get_minorticklocs()))
    for setter in (axis.set_major_formatter, axis.set_minor_formatter):
        fmt = ticker.FuncFormatter(lambda v, pos: text.get(float(v), ""))
        fmt.set_offset_string(offset)  # a linear axis' "×10⁶" or "+1.5" stays
        setter(fmt)
    return True


def tidy(fig: Figure) -> bool:
    """Lays the figure out and thins colliding tick labels until none collide (dropping labels only
    frees room, so this settles; three passes are plenty), then fixes the layout. Each pass is a full
    Agg drawing: returns whether the canvas holds the final image (the last pass dropped nothing), so
    that `render_png` writes it as it is instead of drawing it again."""
    for _ in range(3):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        dropped = [_thin(axis, renderer) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
        if not any(dropped):
            break
    # The last pass left the layout final: saving need not compute it again (it is most of the cost).
    fig.set_layout_engine("none")
    return not any(dropped)


# ---- figures -------------------------------------------------------------------------------------


def figure(spec: dict[str, Any]) -> Figure:
    """The plot as a laid-out matplotlib Figure. Raises ValueError/KeyError/TypeError when it cannot be drawn."""
    return _figure(spec)[0]


def _figure(spec: dict[str, Any]) -> tuple[Figure, bool]:
    """`figure`, and whether its canvas holds its final image (`tidy`)."""
    kind = spec.get("type")
    if kind == "panels":
        panels = [p for p in spec.get("panels") or [] if isinstance(p, dict) and p.get("type") in DRAW]
        if not panels:
            raise ValueError("'panels' holds no drawable plot")
        panels = panels[:MAX_PANELS]
        ncols = min(len(panels), 2)
        nrows = math.ceil(len(panels) / ncols)
        fig = Figure(layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        cells = fig.subfigures(nrows, ncols, squeeze=False).ravel()
        extra = [_draw(cell, p) for cell, p in zip(cells, panels)]
        w, h = PANEL_SIZE
        fig.set_size_inches(ncols * (w + max(e[0] for e in extra)), nrows * (h + max(e[1] for e in extra)))
    elif kind in DRAW:
        fig = Figure(figsize=SIZE, layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        extra_w, extra_h = _draw(fig, spec)
        # A legend beside the axes needs its width and at least its height; one below, its height.
        height = max(SIZE[1], extra_h) if extra_w else SIZE[1] + extra_h
        fig.set_size_inches(SIZE[0] + extra_w, height)
    else:
        raise ValueError(f"unknown plot type {kind!r}; known: {', '.join(PLOT_TYPES)}")
    return fig, tidy(fig)


def render_png(spec: dict[str, Any]) -> str:
    """The plot as a base64 PNG. Raises ValueError/KeyError/TypeError when it cannot be drawn."""
    # The Markdown and HTML reports draw the same plots: draw each once. The key keeps the order of
    # the series, which sets their colours and legend order.
    return _render_cached(json.dumps(spec, default=str))


@lru_cache(maxsize=256)
def _render_cached(text: str) -> str:
    fig, rendered = _figure(json.loads(text))
    buf = io.BytesIO()
    if rendered:
        # What savefig writes after drawing the figure once more (the same call on the same pixels),
        # without that second drawing.
        image.imsave(buf, fig.canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi)
    else:
        fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")
