"""Comparisons of the coherence measure σ (dexter2024 Definition 2) with a stated value or range,
shared by dexter2024's §3.1 and σ-range claims and their corrected readings. Each comparison returns
the dict of `compare_coherence`: holds, margin (slack in units of the certified round-off tolerance)
and the numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flatcheck.numeric.coherence import coherence_bounds, compare_coherence
from flatcheck.problems.dexter_families import HessianFamily


def worst_family(
    families: Iterable[HessianFamily], compare: Callable[[HessianFamily], dict]
) -> tuple[HessianFamily, dict]:
    """The family whose comparison has the smallest margin (the first one on ties), with that comparison."""
    return min(((fam, compare(fam)) for fam in families), key=lambda pair: pair[1]["margin"])


def stated_coherence(fam: HessianFamily, value: float) -> dict:
    """λ₁(S) and σ both against `value` (§3.1 states the two equal in both extreme settings)."""
    return compare_coherence(fam.hs, value, value)


def sigma_range(fam: HessianFamily, upper: float) -> dict:
    """σ ∈ [1, upper] within σ's certified round-off bound."""
    sigma, tol, _ = coherence_bounds(fam.hs)
    slack = min(sigma - 1, upper - sigma)
    values = {**fam.describe(), "sigma": sigma, "n": fam.n, "tolerance": tol}
    return {"holds": slack >= -tol, "margin": slack / tol, "values": values}
