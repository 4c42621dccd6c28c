"""Bound claims rank their instances by tightness (lhs/rhs, 1 tight) and steer hypothesis' search
toward it (`Evidence.tight_bound`, `Evidence.steer`)."""

from __future__ import annotations

import hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from flatcheck.verify import Evidence


def test_a_holding_bound_is_ranked_by_its_ratio():
    loose, tight = Evidence.tight_bound(0.25, 1.0, 1e-12), Evidence.tight_bound(0.9, 1.0, 1e-12)
    assert loose.holds and tight.holds
    assert (loose.values["tightness"], tight.values["tightness"]) == (0.25, 0.9)
    # The runner keeps the smallest margin: the tighter instance.
    assert tight.margin < loose.margin


def test_a_violated_bound_keeps_its_margin_in_tolerances():
    ev = Evidence.tight_bound(2.0, 1.0, 0.5)
    assert ev.holds is False and ev.values["tightness"] == 2.0 and ev.margin == -2.0


def test_steer_targets_the_ratio_inside_a_hypothesis_run(monkeypatch):
    seen: list[tuple[float, str]] = []
    monkeypatch.setattr("flatcheck.verify.claim.target", lambda v, label: seen.append((v, label)))

    @settings(max_examples=5, database=None, phases=[hypothesis.Phase.generate])
    @given(st.floats(0.0, 1.0))
    def run(x: float) -> None:
        Evidence.tight_bound(x, 1.0, 1e-12)

    run()
    assert seen and all(label == "tightness" for _, label in seen)
    # Outside a hypothesis run (replays, a check called directly) nothing is targeted.
    before = len(seen)
    Evidence.tight_bound(0.5, 1.0, 1e-12)
    assert len(seen) == before
