"""A plot's PNG is written from the drawing that laid it out (`plots.tidy`): one drawing per plot
instead of a layout pass and a second drawing in savefig, with the very bytes savefig writes."""

from __future__ import annotations

import base64
import io
import math

import pytest
from matplotlib.figure import Figure

from flatcheck.report import plots
from flatcheck.report.plots import DPI, figure, render_png

DECADES = [10.0**e for e in range(-14, 4)]
T = range(40)
SPECS = {
    "loglog over many decades": {
        "type": "loglog",
        "x": DECADES,
        "y": [x**3 for x in DECADES],
        "reference_order": 3,
        "fitted_order": 2.98,
        "xlabel": r"$\rho$",
        "ylabel": "|remainder|",
    },
    "lines with bands": {
        "type": "lines",
        "x": list(T),
        "series": {f"eta={e}, rho={r}": [math.exp(-t / (3 + e + r)) for t in T] for e in (1, 2) for r in (1, 2)},
        "bands": {"eta=1, rho=1": [[0.9 * math.exp(-t / 5) for t in T], [1.1 * math.exp(-t / 5) for t in T]]},
        "reference": {"limit": 0.1},
        "logy": True,
    },
    "panels": {
        "type": "panels",
        "panels": [
            {"type": "scatter", "x": [1, 2, 3], "y": [1.1, 1.9, 3.2], "c": [0.1, 0.5, 0.9], "diagonal": True},
            {"type": "trajectories", "paths": {"SAM": {"x": [0, 1, 2], "y": [0, 0.5, 0.7]}}},
        ],
    },
}


def _savefig(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_png_is_what_savefig_writes_of_the_laid_out_figure(name):
    # figure() is the laid-out figure (layout fixed): savefig draws it again from scratch.
    assert render_png(SPECS[name]) == _savefig(figure(SPECS[name]))


def test_a_plot_is_drawn_once(monkeypatch):
    draws = []
    real = Figure.draw

    def counted(self, renderer):
        draws.append(self)
        return real(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    plots._render_cached.cache_clear()
    render_png(SPECS["loglog over many decades"])
    assert len(draws) == 1


def test_a_figure_still_thinned_in_the_last_pass_is_drawn_again(monkeypatch):
    # Labels dropped in every pass: the canvas then holds a drawing from before the last thinning,
    # so the PNG comes from savefig's fresh drawing (and equals it).
    monkeypatch.setattr(plots, "_thin", lambda axis, renderer: True)
    plots._render_cached.cache_clear()
    spec = SPECS["lines with bands"]
    fig, rendered = plots._figure(spec)
    assert not rendered
    assert render_png(spec) == _savefig(fig)
