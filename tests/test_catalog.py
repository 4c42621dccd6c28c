"""The catalog battery: every registered claim, run on flatcheck's reference implementations, has the
verdict its claim records as expected (`Claim.expected`): verified, a paper's erratum falsified,
or a reproduction our scale cannot decide inconclusive.

The expectations are those of the committed report (default profile, seed 0); the battery runs the
quick profile, seed 0, which reaches every expectation but the ones listed in QUICK_CANNOT_REACH
(run at the default profile instead, with the reason). Claims that take long are marked `slow`
(deselect them with `-m "not slow"`)."""

from __future__ import annotations

import pytest

from flatcheck.impl import builtin
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import all_claims
from flatcheck.verify.runner import run_claim

# Expectations the quick profile cannot reach at seed 0, and why: these run at the default profile.
QUICK_CANNOT_REACH: dict[str, str] = {}
# Several seconds or more each, even in the quick profile (training runs, long dynamics, flows).
SLOW = {
    "ahn2024.eq4",
    "ahn2024.eq5",
    "ahn2024.example1.phi",
    "ahn2024.lemma6",
    "ahn2024.section5",
    "ahn2024.theorem2",
    "dexter2024.figure1_2",
    "nso.sec3_1",
    "nso.table2",
    "nso.theorem4_3",
    "wen2023.corollary15_17",
    "wen2023.figure1",
    "wen2023.figure1.corrected",
    "wen2023.lemma19",
    "wen2023.theorem11",
    "wen2023.theorem13",
    "wen2023.theorem8",
    "wen2023.theorem9_10",
}


def _params() -> list:
    return [
        pytest.param(cid, marks=[pytest.mark.slow] if cid in SLOW or cid in QUICK_CANNOT_REACH else [], id=cid)
        for cid in all_claims()
    ]


def test_quick_exceptions_and_slow_marks_name_registered_claims():
    assert set(QUICK_CANNOT_REACH) | SLOW <= set(all_claims())
    # Only an expected falsification can be out of the quick profile's reach.
    assert all(all_claims()[cid].expected.verdict == "falsified" for cid in QUICK_CANNOT_REACH)


@pytest.mark.parametrize("claim_id", _params())
def test_reference_verdict_is_the_expected_one(claim_id):
    claim = all_claims()[claim_id]
    profile = "default" if claim_id in QUICK_CANNOT_REACH else "quick"
    impl = builtin(claim.algorithm) if claim.algorithm else None
    res = run_claim(claim, budget_for(profile, seed=0), impl=impl, catalog_size=len(all_claims()))
    expected = claim.expected
    assert res.verdict == expected.verdict, (res.reason, res.counterexample, res.traceback)
    if expected.verdict == "verified":
        assert res.passed >= 1
    elif expected.verdict == "falsified":
        # A genuine counterexample of the conclusion, never a crash.
        assert res.counterexample is not None and res.counterexample["holds"] is False
    else:
        assert res.undecided >= 1 or res.reason.startswith("no admissible instance")
