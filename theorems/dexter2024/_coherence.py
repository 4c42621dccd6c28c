"""Comparisons of the coherence measure σ (dexter2024 Definition 2) with a stated value or range, and
the one check each of §3.1 and the σ range shares between its printed and corrected readings. Each
comparison returns the dict of `compare_coherence`: holds, margin (slack in units of the certified
round-off tolerance) and the numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flatcheck.numeric.coherence import coherence_bounds, compare_coherence
from flatcheck.problems.dexter_families import ExtremeSetting, FamilySweep, HessianFamily
from flatcheck.verify import Evidence


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


def make_sec3_1_check(identical_value: Callable[[int], float], reading: str):
    """§3.1's two settings: identical H_i must give λ₁(S) = σ = identical_value(n), orthogonal ones
    λ₁(S) = σ = 1. `reading` names the value in the note ("stated", "corrected")."""

    def check(setting: ExtremeSetting, impl, budget) -> Evidence:
        fam, out = worst_family(
            setting.families(), lambda f: stated_coherence(f, identical_value(f.n) if f.name == "identical" else 1.0)
        )
        wrong = f"{setting.kind} setting, n = {fam.n}: λ₁(S) and σ differ from the {reading} value"
        note = "" if out["holds"] else wrong
        return Evidence(
            out["holds"], {"setting": setting.kind, "n": fam.n, **out["values"]}, margin=out["margin"], note=note
        )

    return check


def make_sigma_range_check(
    upper: Callable[[HessianFamily], float], upper_name: str, extra: Callable[[HessianFamily], dict[str, Any]]
):
    """σ ∈ [1, upper(family)] on the worst family of a sweep; `extra` adds the reading's own values."""

    def check(sweep: FamilySweep, impl, budget) -> Evidence:
        fam, out = worst_family(sweep.families, lambda f: sigma_range(f, upper(f)))
        values = {**out["values"], **extra(fam)}
        outside = f"σ = {values['sigma']:.6g} lies outside [1, {upper_name}] = [1, {upper(fam):.6g}]"
        note = "" if out["holds"] else outside
        return Evidence(out["holds"], values, margin=out["margin"], note=note)

    return check
