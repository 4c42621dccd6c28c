"""Plots of a claim's evidence, drawn with matplotlib (Agg) and embedded in the HTML report as PNG.

A check hands plot data in ``Evidence.plot``: a JSON-able dict with a ``"type"`` key and the
fields of that type below. Every type also accepts the optional keys ``"title"`` (str),
``"xlabel"``, ``"ylabel"`` (str; plain text or mathtext such as ``"$\\rho$"``). Numbers are floats
(``"inf"``/``"nan"`` strings, as the runner writes non-finite floats, are tolerated and skipped).
A plot of an unknown type, or one whose data do not fit its type, is shown as a table instead —
a report never fails because of a plot.

``"loglog"`` — a remainder against ρ (σ, ε …) on log-log axes, with the claimed order.
    x: [float]                    the sequence of ρ
    y: [float]                    |remainder| at each ρ (non-positive values are skipped)
    reference_order: float        optional; a dashed line of slope reference_order through the
                                  smallest-ρ point, labelled "order p (claimed)"
    fitted_order: float           optional; the fitted order, shown in the legend

``"lines"`` — several curves over one x axis: estimate vs bound over T, tr∇²f along a run, …
    x: [float]                    shared abscissa (optional; default 0, 1, 2, …)
    series: {name: [float]}       one curve per name, same length as x
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

``"panels"`` — several of the above side by side (at most 4 shown).
    panels: [plot, …]             each a dict of one of the types above
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)
from matplotlib import ticker  # noqa: E402

PLOT_TYPES = ("loglog", "lines", "scatter", "phase", "trajectories", "panels")
MAX_PANELS = 4


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


def _labels(ax: Any, spec: dict[str, Any]) -> None:
    ax.set_xlabel(str(spec.get("xlabel", "")))
    ax.set_ylabel(str(spec.get("ylabel", "")))
    if spec.get("title"):
        ax.set_title(str(spec["title"]), fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            # Plain "1e-05" tick labels: matplotlib's default 10⁻⁵ labels go through mathtext, whose
            # parser took about half of the report's drawing time.
            axis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=False))
            axis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))


def _scales(ax: Any, spec: dict[str, Any]) -> None:
    if spec.get("logx"):
        ax.set_xscale("log")
    if spec.get("logy"):
        ax.set_yscale("log")


def _positive(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    pts = [(a, b) for a, b in zip(xs, ys) if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    return [p[0] for p in pts], [p[1] for p in pts]


def draw_loglog(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = _positive(nums(spec["x"]), nums(spec["y"]))
    if not xs:
        raise ValueError("no positive finite point to draw on log-log axes")
    label = "measured"
    if spec.get("fitted_order") is not None:
        label += f" (fitted order {num(spec['fitted_order']):.2f})"
    ax.loglog(xs, ys, "o-", ms=4, label=label)
    p = spec.get("reference_order")
    if p is not None:
        p = num(p)
        # Anchor the reference slope at the smallest ρ, where the asymptotic order should show.
        i = min(range(len(xs)), key=lambda k: xs[k])
        ref = [ys[i] * (x / xs[i]) ** p for x in xs]
        ax.loglog(xs, ref, "--", color="grey", label=f"order {p:g} (claimed)")
    ax.legend(fontsize=8)
    _labels(ax, spec)


def draw_lines(ax: Any, spec: dict[str, Any]) -> None:
    series = spec["series"]
    if not isinstance(series, dict) or not series:
        raise ValueError("'series' must be a non-empty {name: [values]} mapping")
    for name, vals in series.items():
        ys = nums(vals)
        xs = nums(spec["x"]) if "x" in spec else list(range(len(ys)))
        if len(xs) != len(ys):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(xs)} x values")
        (line,) = ax.plot(xs, ys, "-", marker="o" if len(xs) <= 30 else None, ms=3, label=str(name))
        band = (spec.get("bands") or {}).get(name)
        if band:
            ax.fill_between(xs, nums(band[0]), nums(band[1]), color=line.get_color(), alpha=0.2)
    for k, (name, val) in enumerate((spec.get("reference") or {}).items()):
        ax.axhline(num(val), ls="--", color=f"C{(len(series) + k) % 10}", label=str(name))
    _scales(ax, spec)
    ax.legend(fontsize=8)
    _labels(ax, spec)


def draw_scatter(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = nums(spec["x"]), nums(spec["y"])
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values for {len(ys)} y values")
    if spec.get("c") is not None:
        sc = ax.scatter(xs, ys, c=nums(spec["c"]), s=18, cmap="viridis")
        ax.figure.colorbar(sc, ax=ax, label=str(spec.get("clabel", "")))
    else:
        ax.scatter(xs, ys, s=18)
    if spec.get("diagonal"):
        finite = [v for v in xs + ys if math.isfinite(v)]
        lo, hi = min(finite), max(finite)
        ax.plot([lo, hi], [lo, hi], "--", color="grey", label="y = x")
        ax.legend(fontsize=8)
    _scales(ax, spec)
    _labels(ax, spec)


def _points(ax: Any, points: Any) -> None:
    for p in points or []:
        ax.plot(num(p["x"]), num(p["y"]), "k*", ms=10)
        ax.annotate(str(p.get("label", "")), (num(p["x"]), num(p["y"])), textcoords="offset points", xytext=(5, 5))


def draw_phase(ax: Any, spec: dict[str, Any]) -> None:
    xs, ys = nums(spec["x"]), nums(spec["y"])
    z = [nums(row) for row in spec["z"]]
    if len(z) != len(ys) or any(len(row) != len(xs) for row in z):
        raise ValueError(f"'z' must be {len(ys)} rows of {len(xs)} values")
    mesh = ax.pcolormesh(xs, ys, z, shading="auto", cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax, label=str(spec.get("zlabel", "")))
    for b in spec.get("boundaries") or []:
        ax.plot(nums(b["x"]), nums(b["y"]), "w--", lw=1.5)
        if b.get("label"):
            bx, by = nums(b["x"]), nums(b["y"])
            ax.annotate(str(b["label"]), (bx[len(bx) // 2], by[len(by) // 2]), color="white", fontsize=8)
    _points(ax, spec.get("points"))
    ax.set_xlim(min(xs), max(xs))
    ax.set_ylim(min(ys), max(ys))
    _labels(ax, spec)


def draw_trajectories(ax: Any, spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    if not isinstance(paths, dict) or not paths:
        raise ValueError("'paths' must be a non-empty {name: {'x': [...], 'y': [...]}} mapping")
    for name, p in paths.items():
        (line,) = ax.plot(nums(p["x"]), nums(p["y"]), "-", lw=1.2, label=str(name))
        ax.plot(num(p["x"][0]), num(p["y"][0]), "o", color=line.get_color(), ms=4)
    for name, p in (spec.get("reference") or {}).items():
        ax.plot(nums(p["x"]), nums(p["y"]), "--", color="grey", lw=1.2, label=str(name))
    _points(ax, spec.get("points"))
    ax.legend(fontsize=8)
    _labels(ax, spec)


DRAW: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "loglog": draw_loglog,
    "lines": draw_lines,
    "scatter": draw_scatter,
    "phase": draw_phase,
    "trajectories": draw_trajectories,
}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    # Figures are laid out by tight_layout; bbox_inches="tight" would draw each one a second time.
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_png(spec: dict[str, Any]) -> str:
    """The plot as a base64 PNG. Raises ValueError/KeyError/TypeError when it cannot be drawn."""
    # The Markdown and HTML reports draw the same plots: draw each once.
    return _render_cached(json.dumps(spec, sort_keys=True, default=str))


@lru_cache(maxsize=256)
def _render_cached(text: str) -> str:
    spec = json.loads(text)
    kind = spec.get("type")
    if kind == "panels":
        panels = [p for p in spec.get("panels") or [] if isinstance(p, dict) and p.get("type") in DRAW]
        if not panels:
            raise ValueError("'panels' holds no drawable plot")
        panels = panels[:MAX_PANELS]
        fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), squeeze=False)
        try:
            for ax, p in zip(axes[0], panels):
                DRAW[p["type"]](ax, p)
        except Exception:
            plt.close(fig)
            raise
        fig.tight_layout()
        return _png(fig)
    if kind not in DRAW:
        raise ValueError(f"unknown plot type {kind!r}; known: {', '.join(PLOT_TYPES)}")
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    try:
        DRAW[kind](ax, spec)
    except Exception:
        plt.close(fig)
        raise
    fig.tight_layout()
    return _png(fig)


def plot_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The plot's data as (key, value) rows: the fallback when it cannot be drawn."""
    rows = []
    for k, v in spec.items():
        text = repr(v)
        rows.append((str(k), text if len(text) <= 400 else text[:400] + " …"))
    return rows
