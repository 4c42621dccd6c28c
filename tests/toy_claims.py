"""Toy claims for the engine's tests: x ≤ 10 over integers, with a check the test chooses."""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.verify import Claim, Evidence


def toy_claim(name: str, check, instances=None) -> Claim:
    return Claim(
        id=f"toy.{name}",
        paper="toy",
        ref="test",
        kind="bound",
        statement="x \\le 10",
        summary=f"toy claim {name}",
        instances=instances or (lambda budget: st.integers(0, 20)),
        check=check,
    )


def bound(x, impl, budget) -> Evidence:
    """x ≤ 10: fails from 11 on."""
    return Evidence.bound(float(x), 10.0, 0.0)
