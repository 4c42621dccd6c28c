"""The claim object of DESIGN.md and the evidence a check returns."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis import target
from hypothesis.control import currently_in_test_context

KINDS = (
    "identity",
    "bound",
    "expansion",
    "expectation",
    "rate",
    "dynamics",
    "proof-step",
    "reproduction",
    "expansion+expectation",
    "expansion+bound",
)

VERDICTS = ("verified", "falsified", "inconclusive", "error")


@dataclass(frozen=True)
class Expected:
    """The verdict a claim is expected to have on flatcheck's reference implementations.

    `verified` by default. A paper's erratum is expected `falsified`, and `note` states the erratum
    in one line: what is wrong and what holds instead. A reproduction that our scale cannot decide is
    expected `inconclusive`, and `note` says why. A claim file declares it as a pair,
    `expected=("falsified", "…")`; the corrected twin (`<id>.corrected`) is found by the registry."""

    verdict: str = "verified"
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in ("verified", "falsified", "inconclusive"):
            raise ValueError(f"expected verdict {self.verdict!r}: expected one of verified, falsified, inconclusive")
        if self.verdict != "verified" and not self.note.strip():
            raise ValueError(f"an expected {self.verdict} verdict needs its one-line reason (the erratum, or why)")

    @property
    def erratum(self) -> bool:
        return self.verdict == "falsified"


# How an encoding relates to the printed statement, the way formal-mathematics libraries grade each
# formal statement against the one in print.
FAITHFULNESS = ("exact", "restricted", "corrected", "wording", "steps", "reproduction")
SCOPED = ("restricted", "reproduction")


@dataclass(frozen=True)
class Faithful:
    """How faithfully a claim's encoding matches the paper.

    kind: "exact" (the statement as printed, on every admissible instance the search can reach),
    "restricted" (as printed, but checked on a restricted family of instances), "corrected" (a
    corrected form of a printed statement), "wording" (a claim about the wording of a statement or
    its conditions), "steps" (the steps of a proof), "reproduction" (an experiment rerun at our
    scale). scope: one line; for "restricted" which family and why, for "reproduction" at what
    scale (both required); for the others, optional detail (what a corrected form changes).
    A claim file declares it as a string, `faithful="exact"`, or a pair, `faithful=("restricted", "…")`.
    """

    kind: str
    scope: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAITHFULNESS:
            raise ValueError(f"faithfulness {self.kind!r}: expected one of {', '.join(FAITHFULNESS)}")
        if self.kind in SCOPED and not self.scope.strip():
            raise ValueError(f"a {self.kind} claim needs its one-line scope (which family and why, or what scale)")

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "scope": self.scope}


@dataclass(frozen=True)
class Budget:
    """What one check may spend, and the seeds and error rate it must honour."""

    profile: str = "default"
    max_examples: int = 12
    mc_samples: int = 1 << 14
    # Draws for an implementation that can only be stepped one draw at a time (a user's class).
    mc_samples_unbatched: int = 1 << 11
    time_limit_s: float = 120.0
    # Checks hypothesis may run shrinking a found counterexample before the smallest one so far is
    # reported. A count, not seconds, so that a seed replays the same counterexample on any machine.
    shrink_checks: int = 48
    # Independent hypothesis runs a claim's instances are split into (`flatcheck.verify.batches`),
    # each a task of its own for --jobs and Dask.
    batches: int = 1
    # False-alarm rate allotted to one instance's check (already corrected for multiplicity).
    alpha: float = 1e-6
    seed: int = 0
    device: str = "cpu"
    # The parameters' precision an implementation is driven at (`--dtype`); step claims derive their
    # round-off tolerances from it (`flatcheck.impl.predict.ErrorModel`).
    dtype: str = "float64"
    # Values that replace a claim's declared constants (`Constant.name` -> value): how
    # `flatcheck mutate` runs a claim with one constant moved. Empty: the printed statement.
    # Left out of the hash (a dict has none) but not out of ==, so caches keyed by a budget still
    # tell two mutants apart.
    constants: dict[str, float] = field(default_factory=dict, hash=False)

    def draws(self, impl: Any, cap: int | None = None) -> int:
        """Monte Carlo draws for this implementation: fewer when it cannot be batched."""
        n = self.mc_samples if getattr(impl, "batched_step", None) is not None else self.mc_samples_unbatched
        return min(n, cap) if cap else n

    def scaled(self, quick: Any, default: Any, thorough: Any) -> Any:
        """Pick a size by profile: a claim's own knob (steps, grid points, ρ levels …)."""
        return {"quick": quick, "default": default, "thorough": thorough}[self.profile]


@dataclass
class Evidence:
    """What one instance's check measured.

    holds: True (conclusion holds beyond numerical and statistical error), False (violated beyond
    both), None (the check could not decide — `note` says why: precision, budget).
    margin: the slack in units of the tolerance (≥ 0 holds); the runner keeps the instance with
    the smallest margin as the claim's representative evidence.
    """

    holds: bool | None
    values: dict[str, Any] = field(default_factory=dict)
    margin: float | None = None
    note: str = ""
    # Plot data for the report: {"type": "loglog" | "lines" | "scatter" | "phase" | "trajectories" |
    # "panels", …}; the fields of each type are documented in flatcheck/report/plots.py.
    plot: dict[str, Any] | None = None
    # Set by a check that finds, only while running, that the instance is outside the claim's
    # assumptions (e.g. gradient flow did not converge): the instance is skipped, never a failure.
    out_of_scope: str | None = None

    @staticmethod
    def bound(lhs: float, rhs: float, tol: float, **values: Any) -> Evidence:
        """lhs ≤ rhs, ties within round-off tolerance `tol` counting as holding."""
        slack = rhs - lhs
        return Evidence(
            holds=bool(slack >= -tol),
            values={"lhs": lhs, "rhs": rhs, "slack": slack, "tolerance": tol, **values},
            margin=slack / tol if tol > 0 else (math.inf if slack >= 0 else -math.inf),
        )

    @staticmethod
    def tests(results: Sequence[tuple[str, float, float, dict[str, Any]]], subject: str, **values: Any) -> Evidence:
        """Statistical tests, each (name, p-value, level, its values): the conclusion holds where every
        p ≥ its level; the margin is the smallest log₁₀(p/level); the note names the failed tests."""
        failed = [name for name, p, level, _ in results if p < level]
        by_test = {name: {"p": p, "level": level, **v} for name, p, level, v in results}
        return Evidence(
            holds=not failed,
            values={**values, **by_test},
            margin=min((math.log10(max(p, 1e-300) / level) for _, p, level, _ in results), default=math.inf),
            note=f"{subject} fail the {', '.join(failed)} test(s)" if failed else "",
        )

    @staticmethod
    def tight_bound(lhs: float, rhs: float, tol: float, **values: Any) -> Evidence:
        """`bound`, ranked by tightness: `values["tightness"]` = lhs/rhs (1 tight, above 1 violated),
        then `steer`."""
        ev = Evidence.bound(lhs, rhs, tol, **values)
        scale = max(abs(rhs), tol)
        ratio = lhs / scale if scale > 0 else 0.0
        ev.values["tightness"] = ratio
        return ev.steer()

    def steer(self) -> Evidence:
        """Rank by `values["tightness"]` (lhs/rhs of a bound, 1 tight): an instance that holds gets the
        margin 1 − tightness, so that the runner keeps the tightest one as the claim's evidence; and
        inside a hypothesis run the search is steered toward larger tightness (`hypothesis.target`,
        once per instance). Returns self."""
        ratio = self.values.get("tightness")
        if not (isinstance(ratio, float) and math.isfinite(ratio)):
            return self
        if self.holds:
            self.margin = 1.0 - ratio
        if currently_in_test_context():
            target(ratio, label="tightness")
        return self


MUTATIONS = ("scale", "order", "exponent")
STRONGER = ("larger", "smaller", "exact")


@dataclass(frozen=True)
class Constant:
    """A constant, order or exponent of the statement, as printed, and how to make it stronger.

    mutation: "scale" (a constant: ×step or ÷step), "order" (an O(·) order: +step) or "exponent"
    (a rate's exponent: ±step, the amount the paper's argument would notice). `stronger` says
    which way makes the statement claim more: "larger", "smaller", or "exact" for a coefficient of
    an identity or expansion, which any change makes false (the mutant then moves it up). A mutant
    moves the value that way; a check with power falsifies it wherever the statement is tight.
    """

    name: str
    value: float
    printed: str
    stronger: str
    mutation: str = "scale"
    step: float = 2.0
    text: str = ""

    def __post_init__(self) -> None:
        if self.stronger not in STRONGER:
            raise ValueError(f"constant {self.name}: stronger must be one of {STRONGER}, not {self.stronger!r}")
        if self.mutation not in MUTATIONS:
            raise ValueError(f"constant {self.name}: mutation must be one of {MUTATIONS}, not {self.mutation!r}")
        if not self.step > (1 if self.mutation == "scale" else 0):
            raise ValueError(f"constant {self.name}: step {self.step} does not move the value")

    def mutated(self) -> float:
        """The value moved once in the strengthening direction."""
        up = self.stronger != "smaller"
        if self.mutation == "scale":
            return self.value * self.step if up else self.value / self.step
        return self.value + self.step if up else self.value - self.step


def constant(budget: Budget, source: Claim | Sequence[Constant] | Mapping[str, float], name: str) -> float:
    """The value a check uses for the constant `name`: the budget's override, else the declared one.

    `source` is the claim, its tuple of constants (what a check defined before its claim reads),
    or a name -> value mapping (a parameterised check's own values)."""
    if name in budget.constants:
        return float(budget.constants[name])
    if isinstance(source, Mapping):
        defaults = dict(source)
    else:
        decl = source.constants if isinstance(source, Claim) else source
        defaults = {c.name: c.value for c in decl}
    if name not in defaults:
        raise KeyError(f"no constant {name!r} is declared (declared: {', '.join(defaults) or 'none'})")
    return float(defaults[name])


@dataclass(frozen=True)
class Assumption:
    """A checkable hypothesis of the claim. An instance failing it is out of scope."""

    name: str
    holds: Callable[[Any], bool]
    text: str = ""


@dataclass(frozen=True)
class Claim:
    """One catalog entry: the statement, what it predicts, where it applies and how it is checked."""

    id: str
    paper: str
    ref: str
    kind: str
    statement: str
    summary: str
    instances: Callable[[Budget], st.SearchStrategy]
    check: Callable[[Any, Any, Budget], Evidence]
    derive: Callable[[], Any] | None = None
    assumptions: tuple[Assumption, ...] = ()
    # The algorithm the claim exercises, by its kind name (e.g. "rsp"); such a claim runs against
    # any implementation of that algorithm selected by the user.
    algorithm: str | None = None
    describe: Callable[[Any], dict[str, Any]] = lambda inst: {"instance": repr(inst)}
    # At most this many instances by profile (quick, default, thorough), below the profile's own
    # count: for a claim whose every instance is a set of training runs.
    max_examples: tuple[int, int, int] | None = None
    # The verdict on the reference implementations: an `Expected`, or the pair (verdict, note).
    expected: Expected | tuple[str, str] = Expected()
    # The constants, orders and exponents of the statement; the check reads them through
    # `constant(budget, …)` so that `flatcheck mutate` can move each one.
    constants: tuple[Constant, ...] = ()
    # How the encoding relates to the paper: a `Faithful`, its kind ("exact"), or (kind, scope).
    # None only for a claim outside the catalog (a user's own); the catalog declares every one.
    faithful: Faithful | str | tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.faithful is not None and not isinstance(self.faithful, Faithful):
            declared = (self.faithful,) if isinstance(self.faithful, str) else tuple(self.faithful)
            try:
                object.__setattr__(self, "faithful", Faithful(*declared))
            except (TypeError, ValueError) as e:
                raise ValueError(f"claim {self.id}: bad faithful={self.faithful!r}: {e}") from e
        if not isinstance(self.expected, Expected):
            try:
                # The dataclass is frozen: normalise the declared pair once, here.
                object.__setattr__(self, "expected", Expected(*self.expected))
            except (TypeError, ValueError) as e:
                raise ValueError(f"claim {self.id}: bad expected={self.expected!r}: {e}") from e
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}; expected one of {KINDS}")
        if not self.id.startswith(self.paper + "."):
            raise ValueError(f"claim {self.id}: id must start with its paper {self.paper!r}")
        names = [c.name for c in self.constants]
        if len(set(names)) != len(names):
            raise ValueError(f"claim {self.id}: a constant is declared twice in {names}")
