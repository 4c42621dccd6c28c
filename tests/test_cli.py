"""The front door: verdict exit codes, reproducible JSON, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from flatcheck.cli import main


def _strip_times(doc):
    for r in doc["claims"]:
        r.pop("time_s")
    doc["provenance"].pop("wall_time_s")
    doc["provenance"].pop("started")
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


def test_check_rejects_non_optimizer(capsys):
    assert main(["check", "json:dumps", "--quiet"]) == 2
    assert "not a torch.optim.Optimizer" in capsys.readouterr().err
