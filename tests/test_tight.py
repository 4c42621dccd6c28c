"""Ties are decided at the precision they were computed in (issue 15, item 9).

Every claim whose conclusion is an inequality (kinds bound, expansion+bound, rate, proof-step) is in
one of two lists. `TIGHT`: an admissible instance where the bound holds with equality. There the
claim's own check, with the printed constants, must pass: its float64 (or mpmath) round-off may
land on either side of the tie, and a tolerance below that round-off turns a true statement false
(wen2023.lemma30_32 once did, on quadratics of rank one). The same instance with each declared
constant moved in the strengthening direction (`Constant.mutated`, as `flatcheck mutate` moves it)
must be falsified, so the tolerance is no wider than the precision either: the tie rule is proven
both ways. A claim with no declared constant at its tie gives instances just past the tie instead.
`NO_TIGHT`: claims whose bound has no exactly tight admissible instance, each with the reason.
A new bound claim fails `test_every_inequality_claim_has_decided_its_tight_case` until it is added
to one list.

Other kinds carry inequalities too, none with a constant that an admissible instance can tie:
orders and exponents of expansions, expectations and dynamics are decided by fitted intervals
(ahn2024.eq4, eq5, lemma3, lemma4, sketch_d_factor; nso.prop2_1; wen2023.eq4_eq5, lemma22,
corollary5, corollary15_17, theorem8, theorem11), dexter2024's lemma4_1, theorem1 and theorem2 put
their constants in a strict premise (λ₁ > 2/η …) whose conclusion is a limit, and the reproductions'
thresholds are decision rules, not statements.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import pytest
import sympy as sp

from flatcheck.impl import builtin
from flatcheck.verify import Budget, Evidence
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import all_claims

R = sp.Rational
INEQUALITY_KINDS = ("bound", "expansion+bound", "rate", "proof-step")
# How far from a tie (tightness lhs/rhs from 1, or the margin) an instance may sit and still be one:
# well above the round-off of every check below, far below any slack a loose instance has.
TIE = 1e-6


@dataclass(frozen=True)
class Tight:
    """An exactly tight instance of a claim. `mutants`: the declared constants at their tie there
    (each mutant must be falsified); `past`: instances just past the tie, for a tie no declared
    constant reaches (each must be falsified)."""

    claim: str
    instance: Callable[[], Any]
    why: str
    mutants: tuple[str, ...] = ()
    past: tuple[Callable[[], Any], ...] = ()


def _rsp_quadratic(x: list[sp.Rational], **scalars: float):
    from flatcheck.problems import PointInstance, quadratic

    # A = 2I: β = 2 exactly and ⟨∇f, v⟩ = 0 makes the Taylor expansion of f along the step exact.
    return PointInstance(quadratic([R(2)] * 3, [R(1), R(0), R(0)]), x, scalars=scalars)


def _one_datum_regression(x: sp.Rational, r: float):
    from flatcheck.problems import PointInstance
    from flatcheck.problems.setting1 import linear_regression

    # f = (x₁ − 0)²: Hessian 2e₁e₁ᵀ, so α (PL along the flow) = β = 2 and Φ(x) = (0, x₂).
    return PointInstance(linear_regression([[R(1), R(0)]], [R(0), R(0)]), [x, R(0)], scalars={"r": r})


def _sweep(*families):
    from flatcheck.problems.dexter_families import FamilySweep

    return FamilySweep(list(families), {"family": "tight ends: " + ", ".join(f.name for f in families)})


def _sigma_ends():
    from flatcheck.problems.dexter_families import identical, orthogonal, rotated

    return _sweep(orthogonal(3), identical(3), rotated(orthogonal(4), 1), rotated(identical(4, 3), 2))


def _sigma_ends_rank2():
    from flatcheck.problems.dexter_families import diagonal_family, orthogonal, rotated

    projections = diagonal_family("identical rank-2 projections", [[Fraction(1), Fraction(1), Fraction(0)]] * 3)
    return _sweep(orthogonal(3), projections, rotated(projections, 3))


def _rank_one_quadratic():
    from flatcheck.problems import quadratic

    return {"problem": quadratic([R(0), R(0), R(3, 2)], [R(1), R(-1, 2), R(1)]), "x": [R(1), R(-2), R(3, 2)]}


def _paired_offsets_of_equal_norm():
    from flatcheck.problems.nso_families import NSOInstance, noisy_quadratic

    # ½W² with offsets ±1, k = 1: δ = 0 (a quadratic) and ξ = c_z on every draw, ‖ξ‖² = 1 = σ²/k.
    return NSOInstance(noisy_quadratic([R(1)], [R(1)], [[R(1)], [R(-1)]]), [R(3, 2)], 0.5, 1, oracle="paired")


def _theorem4_5(**changes: sp.Rational) -> dict:
    # C = D = k = 1, T = 2, σ = 1: Lemma B.2's condition Σηᵢ ≤ √(D²kT/(2σ²C)) = 1 is rational, so
    # S = Σηᵢ can sit on it (T + 1 = dim and G = 1/C sit on the worded conditions' ends).
    base = {"C": R(1), "G": R(1), "alpha": R(1), "D": R(1), "sigma": R(1), "k": R(1), "T": R(2), "S": R(1)}
    return base | {"Q": R(1, 4), "dim": R(3), "c": R(1)} | changes


TIGHT = (
    Tight(
        "ahn2024.lemma1",
        lambda: _rsp_quadratic([R(1, 4), R(-1, 8), R(1, 8)], rho=0.25, c=1.0),
        "f = xᵀx (β = 2), η = 1/β: f(x⁺) = f(x) − η‖∇f‖² + ½βη²(‖∇f‖² + ‖v‖²) = f(x) − ½η‖∇f‖² + ½βη²‖v‖²",
        mutants=("c_v", "c_grad"),
    ),
    Tight(
        "ahn2024.vt_norm",
        lambda: _rsp_quadratic([R(0)] * 3, rho=0.5),
        "f = xᵀx at x = 0 (∇f = 0, nothing projected out): v = ρ∇²f g = βρg, ‖v‖ = βρ on every draw",
        mutants=("c",),
    ),
    Tight(
        "ahn2024.lemma5",
        lambda: _one_datum_regression(R(1, 16), 1 / 16),
        "one-datum regression (rank-one Hessian, α = β): all six are equalities; the printed first one "
        "‖x − Φ‖ ≤ √((2/α)√gap) at gap = 1, which the check's ray x* + 16(x − x*) reaches. The other five "
        "constants are mutated on lemma5.corrected (the same inequalities, `_lemma5.lemma5_bounds`)",
        mutants=("c_first",),
    ),
    Tight(
        "ahn2024.lemma5.corrected",
        lambda: _one_datum_regression(R(1, 2), 1 / 2),
        "one-datum regression (rank-one Hessian, α = β): all six inequalities are equalities at every x",
        mutants=("c_first", "c_gap_dist", "c_dist_grad", "c_grad_dist", "c_gap_grad", "c_grad_gap"),
    ),
    Tight(
        "dexter2024.sigma_range",
        _sigma_ends,
        "orthogonal H_i = e_ie_iᵀ give σ = 1, n identical e₁e₁ᵀ give σ = n (diagonal and rotated)",
        mutants=("lower", "upper"),
    ),
    Tight(
        "dexter2024.sigma_range.corrected",
        _sigma_ends_rank2,
        "orthogonal H_i give σ = 1; n identical rank-2 projections give S_ij = √tr[H_iH_j] = √2, σ = n√2 = n√r",
        mutants=("lower", "upper"),
    ),
    Tight(
        "wen2023.lemma30_32",
        _rank_one_quadratic,
        "a PSD quadratic of rank 1: the flow moves along one eigenvector at the speed of ‖∇L‖, μ = λ, so "
        "‖x − Φ‖ = ∫‖φ'‖ = √(2L/μ) = ‖∇L‖/μ",
        mutants=("c_grad",),
    ),
    Tight(
        "nso.lemma4_4",
        _paired_offsets_of_equal_norm,
        "the paired oracle (one example per pair W ± U, the proof's g_z) with offsets of equal norm, k = 1, on a "
        "quadratic: E‖ξ‖² = σ²/k with ‖ξ‖² = σ² on every draw, and δ = 0. (The δ bound is strict, as nso.eq28.)",
        mutants=("c_xi",),
    ),
    Tight(
        "nso.theorem4_5",
        lambda: {"C": R(1), "D": R(1), "sigma": R(1), "k": R(1), "T": R(1), "c": R(1)},
        "C = D = σ = k = T = 1, η = √(D²kT/(2σ²C)) = 1/√2 (Lemma B.2's largest Σηᵢ): "
        "‖∇F(W₁)‖² = 1/√32 = D√(Cσ²/(32kT))",
        mutants=("c32",),
    ),
    Tight(
        "nso.theorem4_5.steps",
        _theorem4_5,
        "Σηᵢ = √(D²kT/(2σ²C)) = 1 ≥ 1/(2C): (D²/4)·min{C, 1/(2Σηᵢ)} = 1/8 = D√(Cσ²/(32kT)); and |h''| = C "
        "on the two curved pieces",
        mutants=("c32",),
    ),
    Tight(
        "nso.theorem4_5.wording",
        _theorem4_5,
        "T + 1 = d coordinates fill R^d exactly; G = 1/C makes the e₀ term's curvature 1/G = C",
        past=(lambda: _theorem4_5(dim=R(2)), lambda: _theorem4_5(G=1 - R(1, 2**40))),
    ),
)

NO_TIGHT = {
    "ahn2024.lemma7": "none the check can reach: its v = c·Proj⊥u ≠ 0 and the bound is judged at the small-η end, "
    "where ‖Φ(x⁺) − Φ(x)‖² = η²‖∂Φ(x)v‖² + O(η³) ≤ L²η²‖v‖² + O(η³) (∂Φ(x)∇f(x) = 0, Lemma 6): a quarter of "
    "4L²η²‖v‖²; its 4 and 3 are not declared. The expansion's order is a fit; the third bullet is 0 = 0 everywhere",
    "ahn2024.lemma8": "strict: D.4's argument gives f(x⁺) − f(Φ(x⁺)) ≤ (1 − αη)gap + ½βη²‖v‖² ≤ (2β/α)η‖v‖² − "
    "(3/2)βη²‖v‖²; equality only at v = 0 on X*, where both sides are 0 for every constant",
    "nso.eq28": "strict for P ≠ δ₀: equality needs ‖½(∇f(W+U) + ∇f(W−U)) − ∇f(W)‖ = C‖U‖ a.s. (both one-sided "
    "differences equal, D(U) = D(−U)) and E D(U) = 0; C-Lipschitz at W ± U, W ± U′ forces "
    "‖U‖‖U′‖⟨e(U), e(U′)⟩ ≥ |⟨U, U′⟩|, so ‖E D(U)‖² ≥ C²E|⟨U, U′⟩| > 0. On the claim's quadratics the left side is 0; "
    "its nearest instance, the kinked loss under the sparse law, reaches 1 − p = 7/8",
    "nso.lemmaA4": "C₁ is existential: the check decides the order of the remainder by a fit; no printed constant",
    "nso.lemmaB1": "as nso.lemmaB1.corrected (its first term 2C·D² is the corrected 2D² at C = 1)",
    "nso.lemmaB1.corrected": "strict for η < 1/C: the proof's η − Cη²/2 ≥ η/2 is strict when ∇F ≠ 0, and "
    "F(W_T) > min F on a noisy run; attained only as η → 1/C and T → ∞ (the claim's tight_runs)",
    "nso.prop2_3": "its part (i), the printed trace formula, fails at every instance (the erratum); (5)'s "
    "O(n^{-1/2}) has no printed constant (the check's 1 is its decision rule) and the orders are fits",
    "nso.theorem2_2_sigma": "strict: at (21) the σ²-terms of (20) give ¾ of (1/β)√(Cαr²/n) and the log term "
    "enters ξ with √2 against (20)'s 1, so the displayed bound exceeds (20) by ≥ ¼(1/β)√(Cαr²/n)",
    "nso.theorem2_2_sigma.wording": "an identity (the derivative at (21) must vanish), not an inequality",
    "nso.theorem4_3": "strict for η < 1/C, as nso.lemmaB1.corrected, whose bound (6) is built on; approached "
    "(0.99 on quadratics), never attained",
    "nso.theorem4_3.steps": "no instance passes with the printed constants: (37)'s minimum of 2D²/(Tη) + CηΔ is "
    "2√(2CD²Δ/T), twice (37), at every case-1 point, and (39)'s left side is ≥ 4CD²/T (AM–GM) at every case-2 point",
    "ahn2024.theorem1": "a probability bound P(fail) ≤ C·δ with declared constants (the paper prints none), decided "
    "by exact binomial bounds on a Monte Carlo failure count: no instance ties it exactly",
    "ahn2024.theorem2": "a rate: the exponents are decided by fitted intervals, no tie",
}

BY_ID = {t.claim: t for t in TIGHT}


@lru_cache(maxsize=1)
def _claims() -> dict:
    return all_claims()


def _check(tight: Tight, instance: Any, **constants: float) -> Evidence:
    claim = _claims()[tight.claim]
    impl = builtin(claim.algorithm) if claim.algorithm else None
    budget: Budget = dataclasses.replace(budget_for("quick"), constants=constants)
    assert all(a.holds(instance) for a in claim.assumptions), f"{tight.claim}: the instance is outside its assumptions"
    return claim.check(instance, impl, budget)


def test_every_inequality_claim_has_decided_its_tight_case():
    catalog = {cid for cid, c in _claims().items() if c.kind in INEQUALITY_KINDS}
    assert not set(BY_ID) & set(NO_TIGHT)
    assert catalog == set(BY_ID) | set(NO_TIGHT), (
        f"undecided: {sorted(catalog - set(BY_ID) - set(NO_TIGHT))}; "
        f"not in the catalog: {sorted((set(BY_ID) | set(NO_TIGHT)) - catalog)}"
    )


def test_every_tight_claim_is_proven_both_ways():
    for t in TIGHT:
        declared = {c.name for c in _claims()[t.claim].constants}
        assert set(t.mutants) <= declared, (t.claim, set(t.mutants) - declared)
        assert t.mutants or t.past, f"{t.claim}: nothing shows the tie rule is no wider than the precision"


@pytest.mark.parametrize("tight", TIGHT, ids=lambda t: t.claim)
def test_tight_instance_holds(tight: Tight):
    ev = _check(tight, tight.instance())
    assert ev.out_of_scope is None, ev.out_of_scope
    assert ev.holds is True, (tight.why, ev.note, ev.values)
    # A proof step's tie sits on the boundary of its case: the point must be in every step's case.
    assert all(r["applies"] for r in ev.values.get("steps", ())), ev.values["steps"]
    # It is a tie, not a loose instance: the ratio (or the margin) is 1 (0) to round-off.
    ratio = ev.values.get("tightness")
    off = abs(ratio - 1) if isinstance(ratio, float) and math.isfinite(ratio) else abs(ev.margin)
    assert off <= TIE, (tight.why, ratio, ev.margin)


MUTANTS = [(t, name) for t in TIGHT for name in t.mutants]


@pytest.mark.parametrize("tight, name", MUTANTS, ids=[f"{t.claim}-{n}" for t, n in MUTANTS])
def test_strengthened_constant_is_falsified_at_the_tie(tight: Tight, name: str):
    (decl,) = [c for c in _claims()[tight.claim].constants if c.name == name]
    ev = _check(tight, tight.instance(), **{name: decl.mutated()})
    assert ev.out_of_scope is None, ev.out_of_scope
    assert ev.holds is False, (tight.claim, name, decl.mutated(), ev.values)


PAST = [(t, i) for t in TIGHT for i in range(len(t.past))]


@pytest.mark.parametrize("tight, i", PAST, ids=[f"{t.claim}-past{i}" for t, i in PAST])
def test_just_past_the_tie_is_falsified(tight: Tight, i: int):
    ev = _check(tight, tight.past[i]())
    assert ev.holds is False, (tight.claim, ev.values)
