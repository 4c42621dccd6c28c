"""The front door's papercuts: show, seeds, default paths, plain progress lines, the version, the
advertised kinds, replays that carry every option, resume totals, partial and readable reports."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import strategies as st

import flatcheck
from flatcheck.bookkeeping import DEFAULT_OUT, run_options, start_stream
from flatcheck.cli import exercised_kinds, main, parser
from flatcheck.errors import FlatcheckError
from flatcheck.report import document, provenance, render, render_html
from flatcheck.report.latex import to_mathtext
from flatcheck.report.text import readable
from flatcheck.verify import Claim, Evidence
from flatcheck.verify.registry import all_claims, select
from flatcheck.verify.runner import run_claims

REPO = Path(__file__).resolve().parents[1]


def test_show_a_paper_lists_its_claims(capsys):
    assert main(["show", "ahn2024"]) == 0
    out = capsys.readouterr().out
    n = sum(c.paper == "ahn2024" for c in all_claims().values())
    assert out.startswith(f"paper ahn2024: {n} claims") and "ahn2024.eq5 " in out and "Did you mean" not in out


def test_show_several_claims_as_readable_text(capsys):
    assert main(["show", "ahn2024.eq5", "nso.theorem2_2_sigma"]) == 0
    out = capsys.readouterr().out
    assert out.count("Symbolic derivation (computed by sympy)") == 2
    assert "Symbolic derivation (computed by sympy): For a generic cubic f in d = 3 at x = 0" in out
    # sympy laid out in 2-D, never its repr; a dict's parts one by one, never the dict.
    assert "Matrix([" not in out and "{'" not in out and "⎡" in out
    assert "(21) minimizes the sigma^2 terms of (20) [decided: None]:" in out


def test_show_an_unknown_id_is_one_clear_line(capsys):
    assert main(["show", "ahn2024.lemma11"]) == 2
    assert "unknown claim id" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", "x"])
def test_a_negative_or_non_integer_seed_is_refused(seed, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verify", "ahn2024.vt_norm", "--seed", seed, "--quiet"])
    assert stop.value.code == 2
    assert "a seed is a whole number >= 0" in capsys.readouterr().err


def test_default_report_is_ignored_by_git_and_report_reads_it(tmp_path, monkeypatch, capsys):
    assert parser().parse_args(["verify"]).out == DEFAULT_OUT == "reports/run"
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{DEFAULT_OUT}/results.json"], cwd=REPO)
    assert ignored.returncode == 0
    showcase = subprocess.run(["git", "ls-files", "reports/latest/results.json"], cwd=REPO, capture_output=True)
    assert showcase.stdout.strip() == b"reports/latest/results.json"
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert f"no results file at {DEFAULT_OUT}/results.json" in capsys.readouterr().err
    assert main(["verify", "ahn2024.vt_norm", "--profile", "quick", "--quiet"]) == 0
    (tmp_path / DEFAULT_OUT / "report.html").unlink()
    assert main(["report"]) == 0
    assert (tmp_path / DEFAULT_OUT / "report.html").exists()


def test_progress_is_plain_lines_when_not_a_terminal(tmp_path, capsys):
    assert main(["verify", "ahn2024.vt_norm", "--profile", "quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines()[0].startswith("flatcheck [1/1] ahn2024.vt_norm: verified (")


def test_version_comes_from_the_installed_metadata():
    assert flatcheck.__version__ == importlib.metadata.version("flatcheck")
    assert provenance("quick", 0, "cpu")["flatcheck_version"] == flatcheck.__version__


def test_only_kinds_that_some_claim_exercises_are_accepted(capsys):
    kinds = exercised_kinds()
    used = {c.algorithm for c in all_claims().values()}
    assert kinds and set(kinds) <= used
    assert main(["check", "broken_rsp:ReferenceRSP", "--algorithm", "gd", "--quiet"]) == 2
    assert "unknown algorithm 'gd'" in capsys.readouterr().err


def test_exact_selection_leaves_out_prefix_siblings():
    assert [c.id for c in select(["ahn2024.lemma5"], exact=True)] == ["ahn2024.lemma5"]
    assert [c.id for c in select(["ahn2024.lemma5"])] == ["ahn2024.lemma5", "ahn2024.lemma5.corrected"]
    with pytest.raises(FlatcheckError, match="unknown claim id"):
        select(["ahn2024"], exact=True)


def test_replay_carries_every_option_and_writes_its_own_report(tmp_path):
    # pytorch-optimizer's SAM with adaptive=True (ASAM) is not (3): falsified, a defect.
    argv = ["check", "pytorch_optimizer:SAM", "--claims", "wen2023.sam_step", "--profile", "quick", "--seed", "3"]
    argv += ["--kwargs", '{"adaptive": true}', "--rename", "rho=rho", "--algorithm", "sam", "--out", str(tmp_path)]
    assert main([*argv, "--quiet"]) == 1
    doc = json.loads((tmp_path / "results.json").read_text())
    options = run_options(parser().parse_args(argv))
    assert doc["provenance"]["options"] == options
    assert json.loads((tmp_path / "run.json").read_text())["options"]["kwargs"] == '{"adaptive": true}'
    replay = shlex.split(doc["claims"][0]["replay"])
    assert replay[:2] == ["flatcheck", "check"]
    again = parser().parse_args(replay[1:])
    # The replay reruns the one claim, exactly, with the same options, into a report of its own.
    assert run_options(again) == options
    assert again.claims == ["wen2023.sam_step"] and again.exact
    assert again.out.startswith("reports/replay/wen2023.sam_step-") and again.out != str(tmp_path)


def test_resume_refuses_any_other_option(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    ident = {"command": "check", "target": "m:C", "kwargs": '{"a": 1}', "profile": "quick", "seed": 0}
    start_stream(tmp_path, ident, ["ahn2024.eq5"], resume=False)
    assert start_stream(tmp_path, ident, ["ahn2024.eq5"], resume=True) == ([], {})
    with pytest.raises(FlatcheckError) as err:
        start_stream(tmp_path, {**ident, "kwargs": '{"a": 2}'}, ["ahn2024.eq5"], resume=True)
    assert str(err.value).count("\n") == 0 and """kwargs='{"a": 1}' (now '{"a": 2}')""" in str(err.value)


def test_interrupted_report_is_partial_and_resumed_times_add_up(tmp_path, monkeypatch, interrupt_vt_norm):
    import flatcheck.verify.runner as runner

    real = interrupt_vt_norm
    args = ["verify", "ahn2024.lemma1", "ahn2024.vt_norm", "--profile", "quick", "--out", str(tmp_path), "--quiet"]
    assert main([*args, "--jobs", "1"]) == 130
    first = json.loads((tmp_path / "results.json").read_text())["provenance"]
    assert first["partial"] and first["claims_planned"] == 2
    assert "PARTIAL REPORT: the run was interrupted after 1 of 2 claims" in (tmp_path / "report.md").read_text()
    assert "PARTIAL REPORT" in (tmp_path / "report.html").read_text()
    monkeypatch.setattr(runner, "run_claim", real)
    assert main([*args, "--resume"]) == 0
    prov = json.loads((tmp_path / "results.json").read_text())["provenance"]
    assert not prov["partial"] and prov["parts"] == 2
    assert prov["wall_time_s"] == pytest.approx(first["wall_time_s"] + prov["part_wall_time_s"])
    assert prov["cpu_time_s"] == pytest.approx(first["cpu_time_s"] + prov["part_cpu_time_s"])
    assert "over 2 parts" in (tmp_path / "report.md").read_text()
    assert "PARTIAL" not in (tmp_path / "report.html").read_text()


def _derive():
    """The bound of the toy, worked out: what the expression is and what it shows."""
    import sympy

    return sympy.Matrix([[sympy.Rational(1, 3)]])


def test_report_rounds_for_reading_keeps_exact_json_and_labels_derivations():
    gap = 0.1234567891234567
    claim = Claim(
        id="toy.gap",
        paper="toy",
        ref="Lemma 0",
        kind="bound",
        statement=r"x \le \frac{1}{2}",
        summary="toy",
        instances=lambda budget: st.integers(0, 3),
        check=lambda x, impl, budget: Evidence(True, values={"gap": gap}, margin=1.0, note=f"gap {gap}"),
        derive=_derive,
    )
    rec = run_claims([claim], profile="quick")[0].to_json()
    doc = document(provenance("quick", 0, "cpu"), [rec], 1.0)
    assert rec["evidence"]["values"]["gap"] == gap and str(gap) in rec["evidence"]["note"]
    for text in (render_html(doc), render(doc)):
        assert str(gap) not in text and "0.1235" in text
        assert "The bound of the toy, worked out: what the expression is and what it shows." in text
    assert readable("error 2.6094343434343e-12 at 0.059, seed 123456789") == "error 2.609e-12 at 0.059, seed 123456789"


def test_fractions_are_set_at_display_size():
    assert to_mathtext(r"\tfrac12\rho^2 \le \frac{a}{b}") == r"\dfrac{1}{2}\rho^2 \leq \dfrac{a}{b}"


@pytest.mark.slow
def test_pytest_flatcheck_writes_the_html_report_from_every_xdist_worker(tmp_path):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    path = os.pathsep.join([str(Path(__file__).parent / "fixtures"), str(REPO)])
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--flatcheck"]
        + ["--flatcheck-claims", "ahn2024.lemma1", "ahn2024.vt_norm", "--flatcheck-report", "ci-report"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads((tmp_path / "ci-report" / "results.json").read_text())
    assert [r["id"] for r in doc["claims"]] == ["ahn2024.lemma1", "ahn2024.vt_norm"]
    assert doc["provenance"]["runner"] == "pytest --flatcheck"
    assert "ahn2024.vt_norm" in (tmp_path / "ci-report" / "report.html").read_text()


def test_a_claim_under_xdist_runs_on_its_workers_share_of_the_cores():
    """N workers each with a torch thread per core oversubscribe the machine: a claim item or the
    fixture runs on cores // N threads (at least 1, never more than before), and the worker's own
    setting is put back after it; outside xdist nothing changes."""
    import types

    import torch

    from flatcheck.pytest_plugin import _thread_share
    from flatcheck.verify.parallel import usable_cores

    before = torch.get_num_threads()
    cores = usable_cores()
    for workers, want in ((1, min(before, cores)), (cores, 1), (4 * cores, 1)):
        with _thread_share(types.SimpleNamespace(workerinput={"workercount": workers})):
            assert torch.get_num_threads() == max(1, want)
        assert torch.get_num_threads() == before
    with _thread_share(types.SimpleNamespace()):
        assert torch.get_num_threads() == before
