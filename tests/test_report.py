"""Reports: every produced JSON validates against the schema; the HTML is self-contained and puts
falsified claims first; plots of unknown type fall back to tables; `flatcheck report` re-renders."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import strategies as st

from flatcheck.cli import main
from flatcheck.errors import FlatcheckError
from flatcheck.report import document, provenance, read_json, render_html, validate, write_report
from flatcheck.report.latex import svg_data_uri
from flatcheck.report.plots import PLOT_TYPES, render_png
from flatcheck.verify import Claim, Evidence
from flatcheck.verify.runner import run_claims

PLOTS = {
    "loglog": {"type": "loglog", "x": [0.5, 0.25, 0.125], "y": [1e-1, 1.25e-2, 1.6e-3], "reference_order": 3},
    "lines": {
        "type": "lines",
        "x": [1, 2, 3],
        "series": {"estimate": [1.0, 1.5, 1.7], "bound": [2.0, 2.0, 2.0]},
        "bands": {"estimate": [[0.9, 1.4, 1.6], [1.1, 1.6, 1.8]]},
        "reference": {"limit": 1.8},
    },
    "scatter": {"type": "scatter", "x": [1, 2], "y": [1.1, 1.9], "diagonal": True, "c": [0, 1]},
    "phase": {"type": "phase", "x": [0, 1], "y": [0, 1, 2], "z": [[0, 1], [1, 2], [2, 3]], "boundaries": []},
    "trajectories": {"type": "trajectories", "paths": {"sam": {"x": [0, 1], "y": [1, 0]}}, "reference": {}},
}
PLOTS["panels"] = {"type": "panels", "panels": [PLOTS["loglog"], PLOTS["lines"]]}


def _toy(name: str, check, plot=None) -> Claim:
    def with_plot(x, impl, budget):
        ev = check(x, impl, budget)
        ev.plot = plot
        return ev

    return Claim(
        id=f"toy.{name}",
        paper="toy",
        ref=f"Lemma {name}",
        kind="bound",
        statement=r"x \le \tfrac12 \rho^2 + \mathcal O(\rho^3)",
        summary=f"toy claim {name}",
        instances=lambda budget: st.integers(0, 20),
        check=with_plot,
        derive=lambda: {"bound": 10},
    )


def _doc() -> dict:
    claims = [
        _toy("ok", lambda x, i, b: Evidence.bound(float(x), 100.0, 0.0), PLOTS["lines"]),
        _toy("bad", lambda x, i, b: Evidence.bound(float(x), 10.0, 0.0), PLOTS["loglog"]),
        _toy("odd", lambda x, i, b: Evidence.bound(float(x), 100.0, 0.0), {"type": "violin", "data": [1, 2]}),
        _toy("crash", lambda x, i, b: Evidence(holds=1 / 0 > 0)),
        _toy("undecided", lambda x, i, b: Evidence(None, note="precision too small")),
        _toy("broken_plot", lambda x, i, b: Evidence.bound(0.0, 1.0, 0.0), {"type": "lines", "series": 3}),
    ]
    records = [r.to_json() for r in run_claims(claims, profile="quick")]
    return document(provenance("quick", 0, "cpu"), records, 1.0)


@pytest.fixture(scope="module")
def doc():
    return _doc()


def test_every_plot_type_draws_a_png():
    assert set(PLOTS) == set(PLOT_TYPES)
    for spec in PLOTS.values():
        assert base64.b64decode(render_png(spec)).startswith(b"\x89PNG")


def test_unknown_or_malformed_plot_types_raise_for_the_table_fallback():
    for spec in ({"type": "violin"}, {"type": "lines", "series": 3}, {"type": "phase", "x": [0], "y": [0], "z": [[]]}):
        with pytest.raises((ValueError, KeyError, TypeError)):
            render_png(spec)


def test_statement_renders_as_svg_or_falls_back_to_source():
    assert svg_data_uri(r"\nabla f(x+\rho g)=\tfrac12\rho^2+\mathcal O(\rho^3)").startswith("data:image/svg+xml")
    assert svg_data_uri(r"\begin{bmatrix}1&2\end{bmatrix}") is None


def test_every_catalog_statement_renders_and_is_cached_on_disk(tmp_path, monkeypatch):
    from flatcheck.report import latex
    from flatcheck.verify.registry import all_claims, get

    monkeypatch.setenv("FLATCHECK_CACHE_DIR", str(tmp_path))
    latex.svg_data_uri.cache_clear()
    unrendered = [cid for cid in all_claims() if svg_data_uri(get(cid).statement) is None]
    assert unrendered == []
    assert len(list((tmp_path / "formulas").glob("*.svg"))) == len({get(c).statement for c in all_claims()})
    # A two-row matrix becomes bracketed columns; mathtext has no arrays.
    assert latex.to_mathtext(r"\begin{bmatrix}a&b\\c&d\end{bmatrix}") == (
        r"\left[\genfrac{}{}{0}{}{a}{c}\ \genfrac{}{}{0}{}{b}{d}\right]"
    )
    latex.svg_data_uri.cache_clear()


def test_produced_json_validates_and_bad_json_is_one_clear_error(doc, tmp_path):
    validate(doc)
    assert [r["verdict"] for r in doc["claims"]] == [
        "falsified",
        "verified",
        "error",
        "verified",
        "verified",
        "inconclusive",
    ]
    broken = json.loads(json.dumps(doc))
    broken["claims"][0]["verdict"] = "probably"
    with pytest.raises(FlatcheckError, match="not a flatcheck results document.*claims/0/verdict"):
        validate(broken)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(FlatcheckError, match="cannot read"):
        read_json(tmp_path / "x.json")


def test_html_is_self_contained_and_falsified_first(doc):
    page = render_html(doc)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no network asset"
    assert "<script" not in page
    order = [page.index(f'id="c-toy-{n}"') for n in ("bad", "crash", "undecided", "ok")]
    assert order == sorted(order)
    falsified_box = page[page.index("Falsified or error (no expected verdict recorded)") : page.index("<h2>Summary")]
    replay = "flatcheck verify toy.bad --exact --profile quick --seed 0 --out reports/replay/toy.bad-"
    assert f"replay: <code>{replay}" in falsified_box
    assert "instance = 11" in falsified_box  # the minimal counterexample: the smallest x above 10
    # ok (lines), bad (loglog for its counterexample and its evidence); odd and broken_plot as tables
    assert page.count("data:image/png;base64,") == 3
    assert "Plot data (not drawn: unknown plot type &#x27;violin&#x27;" in page
    assert "Plot data (not drawn: &#x27;series&#x27; must be a non-empty" in page
    assert "data:image/svg+xml;base64," in page  # the statement as a formula
    assert "ZeroDivisionError" in page


def test_report_command_rerenders_from_json(doc, tmp_path):
    write_report(doc, tmp_path / "a")
    assert main(["report", str(tmp_path / "a" / "results.json"), "--out", str(tmp_path / "b")]) == 0
    for name in ("report.html", "report.md", "results.json"):
        assert (tmp_path / "b" / name).exists()
    assert (tmp_path / "b" / "report.html").read_text() == (tmp_path / "a" / "report.html").read_text()
    md = (tmp_path / "b" / "report.md").read_text()
    assert md.index("## Falsified") < md.index("## Summary") < md.index("### toy.ok")
    assert "![toy.bad counterexample](plots/toy.bad.counterexample.png)" in md
    assert (tmp_path / "b" / "plots" / "toy.bad.counterexample.png").read_bytes().startswith(b"\x89PNG")


def test_report_command_rejects_a_file_that_is_not_results(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps({"claims": []}))
    assert main(["report", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "not a flatcheck results document" in err and "Traceback" not in err


def test_the_schema_is_a_valid_schema():
    # validate() does not check the schema on every document (most of its time): it is checked here.
    import jsonschema

    from flatcheck.report.results import schema

    jsonschema.validators.validator_for(schema()).check_schema(schema())
