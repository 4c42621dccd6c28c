"""The ahn2024 slice: verified on correct RSPs, falsified on broken ones and on a wrong constant."""

from __future__ import annotations

import dataclasses
import functools

import pytest
import sympy as sp

from flatcheck.impl import Implementation, builtin
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get
from flatcheck.verify.runner import run_claim


def _user(cls_name: str) -> Implementation:
    import broken_rsp

    return Implementation(f"broken_rsp:{cls_name}", "rsp", getattr(broken_rsp, cls_name))


@pytest.mark.parametrize("claim_id", ["ahn2024.eq5", "ahn2024.vt_norm", "ahn2024.lemma1"])
def test_independent_user_rsp_verified(claim_id):
    res = run_claim(get(claim_id), budget_for("quick"), impl=_user("ReferenceRSP"), catalog_size=60)
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


# eq5's Monte Carlo test finds GaussianRSP (a Gaussian direction, not one on the sphere) in quick on
# about half the seeds (seeds 0–7: 4 before, 5 after the user's global RNG was seeded apart from the
# harness's stream; seed 0 is no longer one of them): the shrink and replay tests use seed 1, where it is.
SEEDS = {("GaussianRSP", "ahn2024.eq5"): 1}


@functools.cache
def _broken_run(cls_name: str, claim_id: str):
    """One run per (class, claim) in this process: the replay test reads the falsification test's
    run of GaussianRSP on eq5 as its first run and replays it once."""
    seed = SEEDS.get((cls_name, claim_id), 0)
    return run_claim(get(claim_id), budget_for("quick", seed=seed), impl=_user(cls_name), catalog_size=60)


@pytest.mark.parametrize(
    "cls_name, claim_id",
    [
        ("NoProjectionRSP", "ahn2024.eq5"),
        pytest.param("GaussianRSP", "ahn2024.eq5", marks=[pytest.mark.slow, pytest.mark.xdist_group("gaussian-eq5")]),
        ("GaussianRSP", "ahn2024.vt_norm"),
    ],
)
def test_broken_rsp_falsified(cls_name, claim_id):
    res = _broken_run(cls_name, claim_id)
    assert res.verdict == "falsified", (res.reason, res.traceback)
    cx = res.counterexample
    assert cx is not None and cx["holds"] is False
    # Shrinking leaves a small instance: dimension at most 3.
    assert cx["instance"]["problem"]["d"] <= 3, cx["instance"]
    assert "flatcheck check broken_rsp:" in res.replay


def test_lemma1_with_wrong_constant_is_falsified():
    import flatcheck_theorems.ahn2024.lemma1 as lemma1

    wrong = dataclasses.replace(lemma1.CLAIM, check=lemma1.make_check(sp.Rational(1, 4)))
    res = run_claim(wrong, budget_for("default"), impl=builtin("rsp"), catalog_size=60)
    assert res.verdict == "falsified", res.reason
    assert res.counterexample["values"]["slack"] < 0


# In the group of the run it replays: under `make test` (xdist loadgroup) both run in one worker.
@pytest.mark.slow
@pytest.mark.xdist_group("gaussian-eq5")
def test_falsification_replays_from_seed():
    a = _broken_run("GaussianRSP", "ahn2024.eq5")
    seed = SEEDS["GaussianRSP", "ahn2024.eq5"]
    b = run_claim(get("ahn2024.eq5"), budget_for("quick", seed=seed), impl=_user("GaussianRSP"), catalog_size=60)
    assert a.verdict == b.verdict == "falsified"
    assert a.counterexample == b.counterexample
