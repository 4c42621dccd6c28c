"""Comparisons of the coherence measure σ (dexter2024 Definition 2) with a stated value or range, and
the one check each of §3.1 and the σ range shares between its printed and corrected readings. Each
comparison returns the dict of `compare_coherence`: holds, margin (slack in units of the certified
round-off tolerance) and the numbers."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import sympy as sp

from flatcheck.numeric.coherence import coherence_bounds, compare_coherence
from flatcheck.problems.dexter_families import ExtremeSetting, FamilySweep, HessianFamily
from flatcheck.verify import Constant, Evidence, constant


def worst_family(
    families: Iterable[HessianFamily], compare: Callable[[HessianFamily], dict]
) -> tuple[HessianFamily, dict]:
    """The family whose comparison has the smallest margin (the first one on ties), with that comparison."""
    return min(((fam, compare(fam)) for fam in families), key=lambda pair: pair[1]["margin"])


def stated_coherence(fam: HessianFamily, value: float) -> dict:
    """λ₁(S) and σ both against `value` (§3.1 states the two equal in both extreme settings)."""
    return compare_coherence(fam.hs, value, value)


def sigma_range(fam: HessianFamily, upper: float, lower: float = 1.0) -> dict:
    """σ ∈ [lower, upper] within σ's certified round-off bound."""
    sigma, tol, _ = coherence_bounds(fam.hs)
    slack = min(sigma - lower, upper - sigma)
    # Tightness: how close σ comes to an end of the range (1 = at it, above 1 outside).
    tight = max(lower / sigma, sigma / upper) if sigma > 0 else math.inf
    values = {**fam.describe(), "sigma": sigma, "n": fam.n, "tolerance": tol, "tightness": tight}
    return {"holds": slack >= -tol, "margin": slack / tol, "values": values}


def sec3_1_constants(exponent: float, printed: str) -> tuple[Constant, ...]:
    """§3.1's values as declared constants: n's exponent in the identical setting, the orthogonal value 1."""
    return (
        Constant(
            "exponent", exponent, printed, "exact", mutation="exponent", step=0.5, text="σ = λ₁(S), identical H_i"
        ),
        Constant("orthogonal", 1.0, "1 in σ = 1", "exact", text="σ = λ₁(S), orthogonal H_i"),
    )


def _exact_coherence(hs: list[sp.Matrix]) -> tuple[sp.Expr, sp.Expr]:
    """(λ₁(S), σ) of Definition 2 exactly, for orthogonal projections H_i (H_i^{1/2} = H_i)."""
    n = len(hs)
    s = sp.Matrix(n, n, lambda i, j: sp.sqrt(sum(e**2 for e in hs[i] * hs[j])))
    lam = max(s.eigenvals(), key=lambda e: float(e))
    return lam, lam / max(max(h.eigenvals(), key=lambda e: float(e)) for h in hs)


@lru_cache(maxsize=1)
def extreme_values() -> dict[str, sp.Expr]:
    """§3.1's two settings computed exactly from Definition 2 for n = 2 … 6 in R^n: identical H_i = e₁e₁ᵀ
    (S the all-ones matrix) and H_i = e_ie_iᵀ (S = I). Returns the exponent p with λ₁(S) = σ = n^p in the
    identical setting (the same for every n, else an error) and the value of λ₁(S) = σ in the orthogonal one."""
    exponents, orthogonal = set(), set()
    for n in range(2, 7):
        e = [sp.eye(n)[:, i] for i in range(n)]
        lam, sigma = _exact_coherence([e[0] * e[0].T] * n)
        exponents |= {sp.simplify(sp.log(lam) / sp.log(n)), sp.simplify(sp.log(sigma) / sp.log(n))}
        orthogonal |= set(_exact_coherence([v * v.T for v in e]))
    (exponent,), (value,) = exponents, orthogonal
    return {"identical_exponent": exponent, "orthogonal": value}


def make_sec3_1_check(constants: tuple[Constant, ...], reading: str):
    """§3.1's two settings: identical H_i must give λ₁(S) = σ = n^exponent, orthogonal ones
    λ₁(S) = σ = orthogonal (the declared constants). `reading` names the value in the note
    ("stated", "corrected"). First, Definition 2 computed in floating point must agree with the exact
    values `extreme_values()` derives: the closed form the printed values are judged by."""

    def check(setting: ExtremeSetting, impl, budget) -> Evidence:
        exact = extreme_values()
        p, o = float(exact["identical_exponent"]), float(exact["orthogonal"])
        fam, out = worst_family(
            setting.families(), lambda f: stated_coherence(f, f.n**p if f.name == "identical" else o)
        )
        if not out["holds"]:
            values = {"setting": setting.kind, "n": fam.n, "derived": {k: str(v) for k, v in exact.items()}}
            note = f"{setting.kind} setting, n = {fam.n}: Definition 2 computed differs from its derived value"
            return Evidence(False, {**values, **out["values"]}, margin=out["margin"], note=note)
        power, ortho = constant(budget, constants, "exponent"), constant(budget, constants, "orthogonal")
        fam, out = worst_family(
            setting.families(), lambda f: stated_coherence(f, f.n**power if f.name == "identical" else ortho)
        )
        wrong = f"{setting.kind} setting, n = {fam.n}: λ₁(S) and σ differ from the {reading} value"
        note = "" if out["holds"] else wrong
        return Evidence(
            out["holds"], {"setting": setting.kind, "n": fam.n, **out["values"]}, margin=out["margin"], note=note
        )

    return check


def sigma_range_constants(upper_printed: str) -> tuple[Constant, ...]:
    """The range's endpoints as declared constants: the lower end 1 and a factor 1 on the upper end."""
    return (
        Constant("lower", 1.0, "1 in 1 ≤ σ", "larger", text="the lower end"),
        Constant("upper", 1.0, f"{upper_printed} in σ ≤ {upper_printed}, ×1", "smaller", text="the upper end"),
    )


def make_sigma_range_check(
    upper: Callable[[HessianFamily], float],
    upper_name: str,
    extra: Callable[[HessianFamily], dict[str, Any]],
    constants: tuple[Constant, ...],
):
    """σ ∈ [lower, upper·upper(family)] (the declared constants `lower`, `upper`; as printed 1 and 1)
    on the worst family of a sweep; `extra` adds the reading's own values."""

    def check(sweep: FamilySweep, impl, budget) -> Evidence:
        lo, factor = constant(budget, constants, "lower"), constant(budget, constants, "upper")
        fam, out = worst_family(sweep.families, lambda f: sigma_range(f, factor * upper(f), lo))
        values = {**out["values"], **extra(fam)}
        outside = f"σ = {values['sigma']:.6g} lies outside [{lo:g}, {upper_name}] = [{lo:g}, {factor * upper(fam):.6g}]"
        note = "" if out["holds"] else outside
        # Steered toward σ at an end of the range (values["tightness"]).
        return Evidence(out["holds"], values, margin=out["margin"], note=note).steer()

    return check
