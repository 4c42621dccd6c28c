"""Expected verdicts: `verify` fails only on a verdict that differs from the catalog's expectation,
`check` judges the implementation (errata set aside, their corrected twins run instead, a protocol
problem one message), `diff` compares two runs, `--summary` writes a CI job summary."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flatcheck.cli import main
from flatcheck.report.diff import diff
from flatcheck.report.outcome import judge
from flatcheck.verify import Claim, Evidence, Expected
from flatcheck.verify.expectations import check_plan, corrected_twin
from flatcheck.verify.registry import all_claims, get

QUICK = ["--profile", "quick", "--jobs", "1", "--quiet"]


def _doc(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def test_expected_is_declared_as_a_pair_and_checked():
    claim = get("ahn2024.lemma5")
    assert claim.expected.verdict == "falsified" and "D.2" in claim.expected.note
    assert get("ahn2024.vt_norm").expected == Expected()
    assert corrected_twin("ahn2024.lemma5") == "ahn2024.lemma5.corrected"
    assert corrected_twin("nso.theorem4_5") is None
    with pytest.raises(ValueError, match="needs its one-line reason"):
        dataclasses.replace(claim, expected=("falsified", " "))
    with pytest.raises(ValueError, match="expected verdict 'error'"):
        dataclasses.replace(claim, expected=("error", "crashes"))
    with pytest.raises(ValueError, match="bad expected"):
        dataclasses.replace(claim, expected="falsified")


def test_every_erratum_and_undecided_reproduction_states_why():
    for c in all_claims().values():
        if c.expected.verdict != "verified":
            # One line: what is wrong and what holds instead (or why our scale cannot decide).
            assert "\n" not in c.expected.note and 40 <= len(c.expected.note) <= 240, c.id


def test_check_plan_sets_errata_aside_and_runs_their_twins():
    kinds = ("linsgd",)
    chosen = [c for c in all_claims().values() if c.paper == "dexter2024" and c.algorithm in kinds]
    run, aside = check_plan(chosen, kinds)
    ids = [c.id for c in run]
    assert "dexter2024.theorem1" not in ids and "dexter2024.theorem1.corrected" in ids
    assert [a["id"] for a in aside] == ["dexter2024.theorem1"]
    assert aside[0]["corrected"] == "dexter2024.theorem1.corrected"
    # The twin runs even where only the erratum was asked for.
    run, _ = check_plan([get("dexter2024.theorem1")], kinds)
    assert [c.id for c in run] == ["dexter2024.theorem1.corrected"]


def _record(cid: str, verdict: str, expected: str) -> dict:
    return {
        "id": cid,
        "verdict": verdict,
        "reason": "r",
        "replay": f"flatcheck verify {cid}",
        "ref": "ref",
        "expected": {"verdict": expected, "note": "n", "corrected": None},
    }


def test_judge_sorts_differences_into_regressions_improvements_and_changes():
    doc = {
        "provenance": {"implementation": None},
        "summary": {},
        "claims": [
            _record("p.ok", "verified", "verified"),
            _record("p.erratum", "falsified", "falsified"),
            _record("p.broke", "falsified", "verified"),
            _record("p.crash", "error", "verified"),
            _record("p.fixed", "verified", "falsified"),
            _record("p.slow", "inconclusive", "verified"),
        ],
    }
    out = judge(doc)
    assert out["status"] == 1
    assert out["regressions"] == ["p.broke", "p.crash"]
    assert out["improvements"] == ["p.fixed"] and out["changes"] == ["p.slow"]
    assert out["errata"] == ["p.erratum"] and out["as_expected"] == 2
    doc["claims"] = doc["claims"][:2]
    assert judge(doc)["status"] == 0


def test_verify_as_expected_exits_0_and_leads_with_the_errata(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["verify", "dexter2024.sec3_1", "ahn2024.vt_norm", *QUICK, "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert text.strip().splitlines()[-1].endswith("every verdict as expected")
    assert "The papers' errata (expected findings): conclusions that are false (1)" in text
    assert "λ₁(S) = σ = n, not √n" in text
    doc = _doc(out)
    rec = {r["id"]: r for r in doc["claims"]}
    assert rec["dexter2024.sec3_1"]["expected"]["verdict"] == "falsified"
    assert rec["dexter2024.sec3_1"]["expected"]["corrected"] == "dexter2024.sec3_1.corrected"
    assert all(r["as_expected"] for r in doc["claims"])
    assert doc["outcome"] == judge(doc) and doc["outcome"]["errata"] == ["dexter2024.sec3_1"]
    md = (out / "report.md").read_text()
    assert md.index("## The papers' errata") < md.index("## Summary")
    assert "Corrected twin: [`dexter2024.sec3_1.corrected`](#dexter2024sec3_1corrected)" in md
    assert (
        "The papers&#x27; errata (expected findings): conclusions that are false (1)"
        in (out / "report.html").read_text()
    )


def _fails(x, impl, budget) -> Evidence:
    return Evidence.bound(1.0, 0.0, 0.0)


def test_verify_lists_regressions_before_improvements_and_exits_1(tmp_path, monkeypatch, capsys):
    catalog = all_claims()
    # A claim expected verified that now fails, and an erratum that now holds.
    monkeypatch.setitem(catalog, "ahn2024.lemma1", dataclasses.replace(catalog["ahn2024.lemma1"], check=_fails))
    monkeypatch.setitem(
        catalog,
        "ahn2024.vt_norm",
        dataclasses.replace(catalog["ahn2024.vt_norm"], expected=("falsified", "a test's pretend erratum")),
    )
    out, summary = tmp_path / "run", tmp_path / "summary.md"
    code = main(["verify", "ahn2024.lemma1", "ahn2024.vt_norm", *QUICK, "--out", str(out), "--summary", str(summary)])
    assert code == 1
    text = capsys.readouterr().out
    assert text.index("Regressions (1)") < text.index("Improvements (1)")
    assert "ahn2024.lemma1: expected verified, now falsified" in text
    assert "ahn2024.vt_norm: expected falsified, now verified" in text
    assert "2 verdicts differ from the expected: 1 regressions, 1 improvements" in text.splitlines()[-1]
    md = summary.read_text()
    assert md.startswith("## ❌ flatcheck verify")
    assert md.index("### Regressions (1)") < md.index("### Improvements (1)")
    assert "| `ahn2024.lemma1` | expected verified, now falsified |" in md
    report = (out / "report.md").read_text()
    assert report.index("## Regressions (1)") < report.index("## Improvements (1)") < report.index("## Summary")
    doc = _doc(out)
    assert doc["outcome"]["regressions"] == ["ahn2024.lemma1"] and doc["outcome"]["status"] == 1
    assert [r["as_expected"] for r in doc["claims"]] == [False, False]


def test_bad_input_exits_2(tmp_path, capsys):
    assert main(["verify", "ahn2024.nope", *QUICK, "--out", str(tmp_path)]) == 2
    assert "unknown claim id" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert (
        main(["verify", "ahn2024.vt_norm", *QUICK, "--out", str(tmp_path / "o"), "--summary", str(blocker / "s")]) == 2
    )
    assert "cannot write the summary" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything ran or was written


def test_check_sets_the_errata_aside_and_runs_the_corrected_twin(tmp_path, capsys):
    out, summary = tmp_path / "run", tmp_path / "summary.md"
    args = ["check", "broken_linsgd:ReferenceLinSGD", "--claims", "dexter2024.theorem1", *QUICK]
    assert main([*args, "--out", str(out), "--summary", str(summary)]) == 0
    text = capsys.readouterr().out
    assert "Paper errata set aside (1) — paper erratum — not a defect of your implementation" in text
    assert "Corrected twin: dexter2024.theorem1.corrected" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("0 defects of the implementation, 1 paper erratum set aside, 1 of 1 claims verified")
    doc = _doc(out)
    assert [r["id"] for r in doc["claims"]] == ["dexter2024.theorem1.corrected"]
    assert doc["set_aside"][0]["id"] == "dexter2024.theorem1" and doc["outcome"]["mode"] == "check"
    assert summary.read_text().startswith("## ✅ flatcheck check of `broken_linsgd:ReferenceLinSGD`")


def test_check_reports_defects_first_and_errata_quietly_after(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["check", "broken_linsgd:EtaOverNLinSGD", "--claims", "dexter2024.second_moment", "dexter2024.theorem1"]
    assert main([*args, *QUICK, "--time-limit", "10", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert text.index("Defects of the implementation") < text.index("Paper errata set aside (1)")
    assert "  dexter2024.second_moment: falsified: " in text
    assert "expected" not in text.split("Paper errata")[0]  # a check speaks of the implementation, not the catalog
    md = (out / "report.md").read_text()
    assert md.index("## Defects of the implementation") < md.index("## Paper errata set aside") < md.index("## Summary")
    page = (out / "report.html").read_text()
    order = [page.index(s) for s in ("Defects of the implementation", "Paper errata set aside", "<h2>Summary")]
    assert order == sorted(order)
    assert "dexter2024.second_moment" in _doc(out)["outcome"]["defects"]


def test_a_protocol_problem_is_one_message_and_exit_2(tmp_path, capsys):
    code = main(["check", "broken_nan:NaNRSP", *QUICK, "--out", str(tmp_path)])
    assert code == 2
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and "does not follow the protocol" in cap.err and "NaN or inf" in cap.err
    assert "error:" not in cap.out and "Traceback" not in cap.err


def test_noise_seeded_by_the_class_itself_is_a_protocol_problem_not_a_defect(tmp_path, capsys):
    """StepSeededNSO reseeds its own generator at every step from a fixed number: every run draws the
    same noise, so the independent runs its noise is judged on cannot be made — one message and
    exit 2 (the step claims judged every chain's one draw a defect, 'fails the mean, variance,
    fresh_noise tests', until optimizers built apart were compared first)."""
    code = main(["check", "unseen_nso:StepSeededNSO", *QUICK, "--claims", "nso.alg1_step", "--out", str(tmp_path)])
    assert code == 2
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and "draws alike in runs seeded apart" in cap.err
    assert "Traceback" not in cap.err


def test_steps_alike_in_optimizers_built_apart_without_a_seed_of_their_own_are_a_defect(tmp_path, capsys):
    """AlternatingSignSAP alternates σ = ±1 by step count and holds a generator it never uses: alike in
    optimizers built apart, but its generators end apart (as reseeded) and the global seed is
    untouched, so it seeds nothing itself — exit 2 told its user to fix a seeding it does not do.
    It is falsified now (sap_step: σ is not a fair sign)."""
    code = main(
        ["check", "unseen_sap:AlternatingSignSAP", *QUICK, "--claims", "ahn2024.sap_step", "--out", str(tmp_path)]
    )
    assert code == 1
    assert "draws alike" not in capsys.readouterr().err


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_diff_reports_changed_verdicts_counterexamples_and_evidence(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["verify", "dexter2024.sec3_1", "ahn2024.vt_norm", *QUICK, "--out", str(out)]) == 0
    old = _doc(out)
    same = _write(tmp_path / "same.json", old)
    assert main(["diff", str(out / "results.json"), str(same)]) == 0
    assert "no verdict, counterexample or key evidence changed" in capsys.readouterr().out
    new = json.loads(json.dumps(old))
    rec = {r["id"]: r for r in new["claims"]}
    rec["dexter2024.sec3_1"]["verdict"] = "verified"
    rec["dexter2024.sec3_1"]["counterexample"] = None
    rec["ahn2024.vt_norm"]["evidence"]["margin"] = 0.5
    new["provenance"]["seed"] = 7
    changed, md = _write(tmp_path / "new.json", new), tmp_path / "diff.md"
    assert main(["diff", str(out / "results.json"), str(changed), "--markdown", str(md)]) == 1
    text = capsys.readouterr().out
    assert "seed: 0 → 7" in text
    assert "falsified → verified" in text and "verdict, counterexample" in text
    assert "2 claims changed, 1 verdict among them" in text
    d = diff(old, new)
    assert d["verdict_changes"] == ["dexter2024.sec3_1"] and d["only_old"] == d["only_new"] == []
    assert [r["changed"] for r in d["rows"]] == [["evidence"], ["verdict", "counterexample"]]
    assert "| `dexter2024.sec3_1` | falsified → verified | verdict, counterexample |" in md.read_text()
    # A claim in one run only is named, not a verdict change; a margin that moves by round-off is no change.
    new["claims"] = [r for r in old["claims"] if r["id"] != "dexter2024.sec3_1"]
    new["claims"][0] = {**new["claims"][0], "evidence": {**new["claims"][0]["evidence"]}}
    new["claims"][0]["evidence"]["margin"] = float(new["claims"][0]["evidence"]["margin"]) * (1 + 1e-9)
    d = diff(old, new)
    assert d["rows"] == [] and d["only_old"] == ["dexter2024.sec3_1"]
    assert main(["diff", str(out / "results.json"), str(_write(tmp_path / "fewer.json", new))]) == 0
    assert f"only in {out / 'results.json'} (1): dexter2024.sec3_1" in capsys.readouterr().out


def test_diff_of_unreadable_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["diff", str(bad), str(bad)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "missing.json"), str(bad)]) == 2
    assert "no results file" in capsys.readouterr().err
    _write(tmp_path / "other.json", {"schema": "something else"})
    assert main(["diff", str(tmp_path / "other.json"), str(tmp_path / "other.json")]) == 2
    assert "not a flatcheck results document" in capsys.readouterr().err


USER_TESTS = """
def test_linsgd_with_the_erratum_set_aside(flatcheck_claims):
    results = flatcheck_claims("broken_linsgd:ReferenceLinSGD", claims=["dexter2024.theorem1"])
    assert [r.id for r in results] == ["dexter2024.theorem1.corrected"]
"""


@pytest.mark.slow
def test_pytest_items_and_fixture_follow_the_expectations(tmp_path):
    (tmp_path / "test_mine.py").write_text(USER_TESTS)
    here = Path(__file__).parent
    path = os.pathsep.join([str(here / "fixtures"), str(here.parent)])
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rxs", "test_mine.py", "--flatcheck"]
        + ["--flatcheck-claims", "dexter2024.sec3_1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    # The erratum is an expected failure, its twin and the user's test pass.
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed, 1 xfailed" in out.stdout
    assert "paper erratum, falsified as expected: For identical H_i" in out.stdout


def test_a_claim_object_accepts_an_expected_object():
    c = Claim(
        id="toy.x",
        paper="toy",
        ref="r",
        kind="bound",
        statement="s",
        summary="s",
        instances=lambda b: None,
        check=lambda *a: None,
        expected=Expected("inconclusive", "not decidable at our scale"),
    )
    assert c.expected.verdict == "inconclusive" and not c.expected.erratum


def test_fixture_passes_a_correct_sam_whose_claims_include_the_figure1_erratum(flatcheck_claims):
    # The caption's erratum is set aside; its corrected twin is a reproduction our scale leaves
    # undecided, as the catalog expects: neither fails the user's test.
    results = flatcheck_claims("broken_sam:ReferenceSAM", claims=["wen2023.figure1"])
    assert [(r.id, r.verdict) for r in results] == [("wen2023.figure1.corrected", "inconclusive")]


def test_a_check_that_crashed_is_counted_and_said_apart():
    from flatcheck.report.outcome import status_line

    doc = {
        "claims": [
            {"id": "a", "verdict": "error"},
            {"id": "b", "verdict": "falsified"},
            {"id": "c", "verdict": "verified"},
        ],
        "summary": {"inconclusive": 0},
        "provenance": {"implementation": "m:C", "wall_time_s": 1.0},
        "set_aside": [],
    }
    line = status_line(doc)
    assert line.startswith("2 defects of the implementation (1 of them a check that crashed: see its traceback), ")
