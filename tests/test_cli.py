"""The front door: verdict exit codes, reproducible JSON, one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flatcheck.cli import main


def _strip_times(doc):
    for r in doc["claims"]:
        r.pop("time_s")
    for key in ("wall_time_s", "started", "cpu_time_s", "peak_rss_mib"):
        doc["provenance"].pop(key)
    # A resumed run adds up its parts' times and keeps the last part's beside them.
    for key in ("parts", "part_wall_time_s", "part_cpu_time_s"):
        doc["provenance"].pop(key, None)
    return doc


def test_same_seed_same_json(tmp_path):
    for name in ("a", "b"):
        assert (
            main(
                [
                    "verify",
                    "ahn2024.example1",
                    "ahn2024.vt_norm",
                    "--profile",
                    "quick",
                    "--seed",
                    "5",
                    "--out",
                    str(tmp_path / name),
                    "--quiet",
                ]
            )
            == 0
        )
    a, b = (_strip_times(json.loads((tmp_path / n / "results.json").read_text())) for n in "ab")
    assert a == b
    assert (tmp_path / "a" / "report.md").read_text().startswith("# flatcheck verification report")


@pytest.mark.slow
def test_unknown_claim_is_one_clear_line():
    out = subprocess.run(
        [sys.executable, "-m", "flatcheck.cli", "verify", "ahn2024.lemma11", "--quiet"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "unknown claim id" in out.stderr and "Did you mean" in out.stderr and "Traceback" not in out.stderr


def test_check_user_implementation_falsified_exit_1(tmp_path):
    code = main(
        [
            "check",
            "broken_rsp:NoProjectionRSP",
            "--claims",
            "ahn2024.eq5",
            "--profile",
            "quick",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 1
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["claims"][0]["verdict"] == "falsified"
    # The verdict is about the algorithm the class was checked as: the report says which, and how chosen.
    assert doc["provenance"]["checked_as"] == "rsp, inferred from its name"
    assert "NoProjectionRSP (checked as rsp, inferred from its name)" in (tmp_path / "report.md").read_text()


def test_check_says_which_algorithm_the_class_is_checked_as(tmp_path, capsys):
    args = ["check", "broken_sam:ReferenceSAM", "--claims", "wen2023.sam_step", "--profile", "quick"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "checking broken_sam:ReferenceSAM as sam and sam_stochastic, inferred from its name (--algorithm" in err
    assert main([*args, "--algorithm", "sam", "--out", str(tmp_path / "b")]) == 0
    assert "as sam and sam_stochastic, named by --algorithm" in capsys.readouterr().err


def test_check_rejects_non_optimizer(capsys):
    assert main(["check", "json:dumps", "--quiet"]) == 2
    assert "not a torch.optim.Optimizer" in capsys.readouterr().err


def _verify(out, *extra, ids=("ahn2024.lemma1", "ahn2024.vt_norm")):
    return main(["verify", *ids, "--profile", "quick", "--seed", "2", "--out", str(out), "--quiet", *extra])


def test_resume_after_a_crash_runs_only_the_unfinished_claims(tmp_path, capsys):
    assert _verify(tmp_path / "full") == 0
    full = _strip_times(json.loads((tmp_path / "full" / "results.json").read_text()))
    # A crash after the first claim: its line is kept, the second one was cut off mid-write.
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text((tmp_path / "full" / "run.json").read_text())
    first, second = (tmp_path / "full" / "results.jsonl").read_text().splitlines()
    (run / "results.jsonl").write_text(first + "\n" + second[: len(second) // 2])
    capsys.readouterr()
    assert main(["verify", "--resume", "--profile", "quick", "--seed", "2", "--out", str(run), "--quiet"]) == 0
    assert "resuming: 1 claims already finished, 1 to run" in capsys.readouterr().err
    resumed = _strip_times(json.loads((run / "results.json").read_text()))
    assert resumed["provenance"].pop("resumed") == 1
    assert resumed == full
    assert len((run / "results.jsonl").read_text().splitlines()) == 2


def test_resume_with_other_options_is_refused(tmp_path, capsys):
    assert _verify(tmp_path, ids=("ahn2024.vt_norm",)) == 0
    code = main(["verify", "--resume", "--profile", "quick", "--seed", "3", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "seed=2 (now 3)" in capsys.readouterr().err
    assert main(["verify", "--resume", "--out", str(tmp_path / "empty"), "--quiet"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def _kept(out):
    return [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]


def test_ctrl_c_keeps_finished_results(tmp_path, monkeypatch, capsys, interrupt_vt_norm):
    import flatcheck.verify.runner as runner

    real = interrupt_vt_norm
    # One process, so that the first claim has finished when the second is interrupted.
    assert _verify(tmp_path, "--jobs", "1") == 130
    assert "1 finished results kept" in capsys.readouterr().err
    assert _kept(tmp_path) == ["ahn2024.lemma1"]
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["verified"] == 1
    monkeypatch.setattr(runner, "run_claim", real)
    assert _verify(tmp_path, "--resume") == 0
    assert [r["id"] for r in json.loads((tmp_path / "results.json").read_text())["claims"]] == [
        "ahn2024.lemma1",
        "ahn2024.vt_norm",
    ]


def test_ctrl_c_in_a_worker_process_stops_the_run_and_keeps_what_finished(tmp_path, capsys, interrupt_vt_norm):
    assert _verify(tmp_path, "--jobs", "2") == 130
    kept = _kept(tmp_path)
    assert "ahn2024.vt_norm" not in kept
    assert f"{len(kept)} finished results kept" in capsys.readouterr().err
    assert len(json.loads((tmp_path / "results.json").read_text())["claims"]) == len(kept)


def test_import_path_that_does_not_resolve(capsys):
    assert main(["check", "no_such_module_xyz:MyRSP", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot import module 'no_such_module_xyz'" in err and "Traceback" not in err
    assert main(["check", "broken_rsp:NoSuchClass", "--quiet"]) == 2
    assert "has no attribute 'NoSuchClass'" in capsys.readouterr().err


def test_nan_from_the_users_optimizer_is_bad_input_with_one_clear_reason(tmp_path, capsys):
    code = main(
        ["check", "broken_nan:NaNRSP", "--claims", "ahn2024.vt_norm", "--profile", "quick"]
        + ["--out", str(tmp_path), "--quiet"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NaN or inf" in err and "stopped at ahn2024.vt_norm" in err
    # Stopped at the first instance: no shrinking, no verdict on the claim.
    assert (tmp_path / "results.jsonl").read_text() == ""


def test_unwritable_report_directory(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["verify", "ahn2024.vt_norm", "--out", str(blocker / "report"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the report to {blocker / 'report'}" in err and "Traceback" not in err


def test_bad_time_limit_and_profile_flags(tmp_path, capsys):
    assert main(["verify", "ahn2024.vt_norm", "--time-limit", "0", "--out", str(tmp_path), "--quiet"]) == 2
    assert "time limit must be a positive number" in capsys.readouterr().err
    cluster = ["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"]
    assert main(["verify", "ahn2024.vt_norm", *cluster, "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # bad options are refused before anything is written


USER_TESTS = """
def test_reference_rsp_follows_the_paper(flatcheck_claims):
    flatcheck_claims("broken_rsp:ReferenceRSP", claims=["ahn2024.vt_norm"])


def test_nan_rsp_is_caught(flatcheck_claims):
    flatcheck_claims("broken_nan:NaNRSP", claims=["ahn2024.vt_norm"])
"""


def _pytest(cwd, *args):
    # This checkout (not an installed copy) and tests/fixtures, which holds the user classes.
    here = Path(__file__).parent
    path = os.pathsep.join([str(here / "fixtures"), str(here.parent)])
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_users_ci_fixture_and_flatcheck_items_with_junit_xml(tmp_path):
    (tmp_path / "test_mine.py").write_text(USER_TESTS)
    out = _pytest(tmp_path, "test_mine.py", "--flatcheck", "--flatcheck-claims", "ahn2024.vt_norm", "--junitxml=j.xml")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 2 passed" in out.stdout
    assert "broken_nan:NaNRSP does not follow the protocol (ahn2024.vt_norm)" in out.stdout
    assert "broken_nan:NaNRSP produced NaN" in out.stdout
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    failure = suite.find("testcase[@name='test_nan_rsp_is_caught']/failure")
    assert "does not follow the protocol" in failure.get("message") + (failure.text or "")
    claim_case = suite.find("testcase[@name='ahn2024.vt_norm']")
    assert claim_case.get("classname") == "flatcheck.ahn2024" and claim_case.find("failure") is None


def test_failure_message_carries_counterexample_and_replay():
    from toy_claims import bound as _bound
    from toy_claims import toy_claim as _claim

    from flatcheck.pytest_plugin import describe_failure
    from flatcheck.verify.profiles import budget_for
    from flatcheck.verify.runner import run_claim

    # A shrink budget large enough for hypothesis to reach the minimal instance, 11.
    budget = dataclasses.replace(budget_for("quick"), shrink_checks=200)
    text = describe_failure(run_claim(_claim("bad", _bound), budget))
    first = "toy.bad (test) is FALSIFIED: conclusion violated beyond numerical and statistical error"
    assert text.splitlines()[0] == first
    assert "minimal counterexample:\n  instance = 11" in text
    assert "measured:\n  lhs = 11\n  rhs = 10\n  slack = -1" in text
    replay = "replay: flatcheck verify toy.bad --exact --profile quick --seed 0 --out reports/replay/toy.bad-"
    assert text.splitlines()[-1].startswith(replay)
