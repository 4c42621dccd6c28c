"""Plots fit to look at: every plot type, drawn on awkward data (many decades, many series, long labels,
single points, NaN/inf, negative values on a log axis), keeps its texts — tick labels, axis labels,
titles, legends, colour-bar labels — inside the figure and clear of one another, gives its axes room,
and gives distinct series distinct colours. Measured on matplotlib's own bounding boxes."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from flatcheck.report.plots import PLOT_TYPES, figure, series_styles, tidy, wrap

LONG = "a rather long label that names the quantity, the instance and the hyper-parameters of the run"
DECADES = [10.0**e for e in range(-14, 4)]


def _lines(n: int, name, **extra) -> dict:
    x = list(range(50))
    series = {name(i): [math.exp(-t / (5 + i)) + 0.1 * i for t in x] for i in range(n)}
    return {"type": "lines", "x": x, "series": series, "xlabel": "iteration", "ylabel": LONG, **extra}


AWKWARD = {
    "loglog_decades": {
        "type": "loglog",
        "x": DECADES + [0.0, -1.0, "nan", "inf"],
        "y": [x**3 for x in DECADES] + [1.0, 2.0, 3.0, 4.0],
        "reference_order": 3,
        "fitted_order": 2.9999999999,
        "xlabel": "rho",
        "ylabel": "|remainder of the second-order expansion of the SAM step| " + LONG,
        "title": "remainder against rho over eighteen decades: " + LONG,
    },
    "loglog_two_decades": {  # the report's lemma2/theorem13 case: minor labels crowd a short axis
        "type": "loglog",
        "x": list(np.geomspace(2.7e-3, 0.27, 12)),
        "y": list(np.geomspace(1e-16, 1e-8, 12)),
        "reference_order": 5,
    },
    "loglog_single_point": {"type": "loglog", "x": [0.01], "y": [3e-7], "reference_order": 2},
    "loglog_short_span": {"type": "loglog", "x": [0.8, 1.0, 1.3], "y": [0.061, 0.086, 0.12]},
    "lines_grouped_16": _lines(16, lambda i: f"d={2 ** (1 + i // 4)}, eps={[0.08, 0.056, 0.04, 0.028][i % 4]}"),
    "lines_12": _lines(12, lambda i: f"run {i}", reference={"limit": 0.5, "bound " + LONG: 1.5}),
    "lines_24_long_names": _lines(24, lambda i: f"chain {i} of the stochastic SAM run at eta=0.01, rho=0.{i}"),
    "lines_log_negative": {
        "type": "lines",
        "x": [1e-6, 1e-3, 1, 1e3, 1e6],
        "series": {"estimate": [1e-12, -3.0, 0.0, "inf", 1e12], "bound": [1e-10, 1e-5, 1.0, 1e5, 1e10]},
        "bands": {"estimate": [[1e-13, -4.0, 0.0, 1.0, 1e11], [1e-11, 1.0, 1.0, 2.0, 1e13]]},
        "reference": {"negative limit (undrawable on a log axis)": -1.0, "limit": 1e-3},
        "logx": True,
        "logy": True,
    },
    "lines_single_point": {"type": "lines", "x": [0.5], "series": {"only": [2.0]}, "reference": {"r": 1.0}},
    "lines_offset": {  # large values with small differences: a linear axis needs its offset text
        "type": "lines",
        "series": {"s": [1e15 + k * 1e3 for k in range(7)], "t": [1e15 - k * 1e3 for k in range(7)]},
    },
    "scatter_colour": {
        "type": "scatter",
        "x": [1e-9, 1e-3, -1.0, 0.0, 10.0, 1e5, "nan"],
        "y": [1e-9, 2e-3, 1.0, 1.0, 12.0, 3e5, 1.0],
        "c": [0.1, 0.2, 0.3, 0.4, "nan", 0.9, 1.0],
        "clabel": "the colour value: " + LONG,
        "diagonal": True,
        "logx": True,
        "logy": True,
        "title": LONG,
    },
    "scatter_single": {"type": "scatter", "x": [3.0], "y": [4.0], "diagonal": True},
    "phase": {
        "type": "phase",
        "x": [1, 2, 5, 10, 20, 50, 100],
        "y": [1, 2, 4, 8, 16, 32],
        "z": [[(i * j) % 5 / 4 if (i + j) % 7 else "nan" for j in range(7)] for i in range(6)],
        "zlabel": "fraction of 5 runs diverging (paper's rule) " + LONG,
        "boundaries": [
            {"x": [1, 100], "y": [32, 1], "label": "Theorem 1: " + LONG},
            {"x": [1, 100], "y": [16, 2], "label": "Theorem 2"},
            {"x": [1, 200], "y": [1, 64], "label": "a boundary that leaves the grid"},
        ],
        "points": [{"x": 5, "y": 4, "label": "start"}, {"x": 5, "y": 4, "label": "minimizer " + LONG}],
        "xlabel": "σ",
        "ylabel": "B",
        "title": "η = 4/5, bernoulli sampling, " + LONG,
    },
    "phase_one_column": {"type": "phase", "x": [3.0], "y": [1, 2, 3], "z": [[0.1], [0.5], [0.9]]},
    "trajectories": {  # the report's wen2023.figure1 case: long names, coincident targets at the edge
        "type": "trajectories",
        "paths": {
            f"({k}) {name}": {"x": [0.75, 0.1 * k, 0.01 * k, "nan", 0.0], "y": [0.25, 1e-17, 0.13 * k, 1.0, 0.0]}
            for k, name in enumerate(
                ["full-batch SAM → argmin top eigenvalue F₀", "GD on L^asc → argmin of the named bottom eigenvalue F₀"]
                + [f"stochastic SAM, chain {i} (caption's L₀ = F₀x₀²) → argmin trace" for i in range(10)],
                start=1,
            )
        },
        "reference": {"X(T), flow (6)": {"x": [0.75, 0.5, 0.2], "y": [0.25, 0.2, 0.1]}},
        "points": [
            {"x": 0.0, "y": 0.0, "label": "target: (1) full-batch SAM → argmin top eigenvalue F₀"},
            {"x": 0.0, "y": 0.0, "label": "target: (2) GD on L^asc → argmin of the named bottom eigenvalue F₀"},
            {"x": 0.8, "y": 0.142857, "label": "target: (3) stochastic SAM (caption's L₀ = F₀x₀²) → argmin trace"},
        ],
        "xlabel": "x₀",
        "ylabel": "x₁",
        "title": "start, third-quarter and last-quarter means of each run",
    },
}
AWKWARD["panels"] = {
    "type": "panels",
    "panels": [AWKWARD["phase"], AWKWARD["lines_grouped_16"], AWKWARD["loglog_decades"], AWKWARD["scatter_colour"]],
}
AWKWARD["panels_three"] = {
    "type": "panels",
    "panels": [AWKWARD["trajectories"], AWKWARD["loglog_two_decades"], AWKWARD["phase_one_column"]],
}


def _drawn_tick_labels(axis) -> list:
    # The axis' own list of the ticks it draws (labels of ticks beyond the view are not drawn).
    return [t.label1 for t in axis._update_ticks() if t.label1.get_visible() and t.label1.get_text()]


def _subfigures(fig) -> list:
    return [fig] + [s for sub in fig.subfigs for s in _subfigures(sub)]


def texts(fig: Figure) -> list[tuple[str, object]]:
    """(name, artist) of every text a reader reads: titles, axis labels, offset texts, drawn tick labels
    (colour bars included), annotations and legends."""
    out = []
    for i, ax in enumerate(fig.axes):
        out += [
            (f"axes {i} title", ax.title),
            (f"axes {i} xlabel", ax.xaxis.label),
            (f"axes {i} ylabel", ax.yaxis.label),
        ]
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            out.append((f"axes {i} {name} offset", axis.offsetText))
            out += [(f"axes {i} {name} tick {t.get_text()!r}", t) for t in _drawn_tick_labels(axis)]
        out += [(f"axes {i} text {t.get_text()!r}", t) for t in ax.texts]
        if ax.get_legend():
            out.append((f"axes {i} legend", ax.get_legend()))
    out += [(f"figure legend {k}", leg) for k, leg in enumerate(leg for f in _subfigures(fig) for leg in f.legends)]
    return [(n, a) for n, a in out if a.get_visible() and (not hasattr(a, "get_text") or a.get_text())]


def problems(fig: Figure) -> list[str]:
    """Every text that leaves the figure or overlaps another, and every plotting area squeezed below
    a third of its (sub)figure's width or height."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = [(name, artist.get_window_extent(renderer)) for name, artist in texts(fig)]
    found = []
    page = fig.bbox
    for name, b in boxes:
        if b.x0 < page.x0 - 0.5 or b.y0 < page.y0 - 0.5 or b.x1 > page.x1 + 0.5 or b.y1 > page.y1 + 0.5:
            found.append(f"{name} leaves the figure: {b.bounds} outside {page.bounds}")
    for (n1, b1), (n2, b2) in itertools.combinations(boxes, 2):
        if b1.overlaps(b2):
            found.append(f"{n1} overlaps {n2}")
    for i, ax in enumerate(fig.axes):
        if ax.get_label() == "<colorbar>":
            continue
        cell, box = ax.figure.bbox, ax.get_window_extent(renderer)
        if box.width < cell.width / 3 or box.height < cell.height / 3:
            found.append(
                f"axes {i} squeezed to {box.width:.0f}×{box.height:.0f} px in a {cell.width:.0f}×{cell.height:.0f} cell"
            )
    return found


def _series_lines(fig: Figure, names) -> list:
    return [line for ax in fig.axes for line in ax.get_lines() if line.get_label() in names]


def test_the_awkward_data_cover_every_plot_type():
    assert {spec["type"] for spec in AWKWARD.values()} == set(PLOT_TYPES)


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_every_text_stays_inside_the_figure_and_clear_of_the_others(case):
    fig = figure(AWKWARD[case])
    assert problems(fig) == []
    # …and the texts were there to be checked: tick labels on both axes of every plotting area.
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>":
            assert _drawn_tick_labels(ax.xaxis) and _drawn_tick_labels(ax.yaxis), case


@pytest.mark.parametrize("case", ["lines_grouped_16", "lines_12", "lines_24_long_names", "trajectories"])
def test_distinct_series_get_distinct_colours_and_a_legend_entry(case):
    spec = AWKWARD[case]
    names = list(spec.get("series") or spec["paths"])
    fig = figure(spec)
    lines = _series_lines(fig, set(names))
    assert sorted(line.get_label() for line in lines) == sorted(names)
    rgb = [np.array(matplotlib.colors.to_rgb(line.get_color())) for line in lines]
    assert len({tuple(c) for c in rgb}) == len(names)
    # Told apart by eye: two series drawn with the same dashes are at least 0.1 apart in RGB (the unit
    # cube's diagonal is 1.73); past 20 series the dashes take over part of the telling apart.
    closest = min(
        np.linalg.norm(rgb[i] - rgb[j])
        for i, j in itertools.combinations(range(len(lines)), 2)
        if lines[i].get_linestyle() == lines[j].get_linestyle()
    )
    assert closest >= 0.1, (case, closest)
    legend_texts = [
        t.get_text().replace("\n", " ") for f in _subfigures(fig) for leg in f.legends for t in leg.get_texts()
    ]
    legend_texts += [
        t.get_text().replace("\n", " ") for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]
    assert all(name in legend_texts for name in names)


def test_series_styles_stay_distinct_however_many():
    for n in (1, 10, 11, 16, 20, 21, 40):
        styles = series_styles([f"s{i}" for i in range(n)])
        keys = {(matplotlib.colors.to_hex(s["color"], keep_alpha=True), str(s.get("ls", "-"))) for s in styles}
        colours = {matplotlib.colors.to_hex(s["color"]) for s in styles}
        assert len(keys) == len(colours) == n


def test_grouped_names_share_a_hue_per_group():
    names = [f"d={d}, eps={e}" for d in (2, 4, 8, 16) for e in (0.08, 0.04, 0.02)]
    hues = [matplotlib.colors.rgb_to_hsv(matplotlib.colors.to_rgb(s["color"]))[0] for s in series_styles(names)]
    groups = [hues[3 * g : 3 * g + 3] for g in range(4)]
    assert all(max(group) - min(group) < 0.1 for group in groups)
    assert all(abs(np.mean(a) - np.mean(b)) > 0.1 for a, b in itertools.combinations(groups, 2))


def test_a_log_axis_over_two_decades_keeps_decades_and_no_crowded_minor_labels():
    fig = figure(AWKWARD["loglog_two_decades"])
    x = [t.get_text() for t in _drawn_tick_labels(fig.axes[0].xaxis)]
    y = [t.get_text() for t in _drawn_tick_labels(fig.axes[0].yaxis)]
    assert {"0.01", "0.1"} <= set(x)  # short numbers stay plain…
    assert {"10⁻¹⁶", "10⁻¹²", "10⁻⁸"} <= set(y)  # …long ones are Unicode powers, not "1e-08" or mathtext
    assert not any("e-" in s or "$" in s for s in x + y)


def test_crowded_tick_labels_are_thinned_keeping_decades_first():
    # Locators forced to crowd: every minor tick labelled on a log axis, sixty steps on a linear one.
    fig = Figure(figsize=(4.0, 3.0), layout="constrained", dpi=90)
    FigureCanvasAgg(fig)
    log, lin = fig.subplots(1, 2)
    log.loglog(np.geomspace(2.7e-3, 0.27, 12), np.geomspace(1e-16, 1e-8, 12))
    for setter in (log.xaxis.set_major_formatter, log.xaxis.set_minor_formatter):
        setter(matplotlib.ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(math.inf, math.inf)))
    log.yaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=30))
    lin.plot([0, 1e5], [0, 1])
    lin.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=60))
    assert any("tick" in p and "overlaps" in p for p in problems(fig))
    tidy(fig)
    assert problems(fig) == []
    kept = [t.get_text() for t in _drawn_tick_labels(log.xaxis)]
    assert {"1e\u221202", "1e\u221201"} <= set(kept) and len(kept) < 12, kept
    assert len(_drawn_tick_labels(lin.xaxis)) >= 2


def test_the_checker_flags_what_the_old_plots_did():
    # The report's old plots: a 2-decade log axis labelling every minor tick, and long annotations
    # hanging off the axes under tight_layout. The checker must see both.
    fig = Figure(figsize=(5.6, 3.8), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.loglog(np.geomspace(2.7e-3, 0.27, 12), np.geomspace(1e-16, 1e-8, 12))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))
    ax.annotate("target: " + LONG, (0.2, 1e-9), xytext=(5, 5), textcoords="offset points")
    ax.set_title("start, third-quarter and last-quarter means of each run and " + LONG)
    with pytest.warns(UserWarning, match="Tight layout not applied"):
        fig.tight_layout()
    found = problems(fig)
    assert any("tick" in p and "overlaps" in p and "tick" in p.split("overlaps")[1] for p in found)
    assert any("title leaves the figure" in p for p in found)
    assert any("text 'target: " in p and "leaves the figure" in p for p in found)


def test_wrap_breaks_at_spaces_and_never_inside_mathtext():
    assert wrap("one two three four", 9) == "one two\nthree\nfour"
    assert wrap(r"the bound $\frac{1}{2} \rho^2$ holds", 8) == "the\nbound\n" + r"$\frac{1}{2} \rho^2$" + "\nholds"
    assert wrap("", 10) == ""


REPORT = Path(__file__).resolve().parents[1] / "reports" / "latest" / "results.json"


@pytest.mark.skipif(not REPORT.exists(), reason="no committed showcase report")
def test_every_plot_of_the_showcase_report_is_readable():
    doc = json.loads(REPORT.read_text(encoding="utf-8"))
    specs = {
        f"{r['id']}.{key}": r[key]["plot"]
        for r in doc["claims"]
        for key in ("counterexample", "evidence")
        if isinstance((r.get(key) or {}).get("plot"), dict)
    }
    assert specs
    found = {name: p for name, spec in specs.items() if (p := problems(figure(spec)))}
    assert found == {}
