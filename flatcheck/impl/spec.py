"""One record per algorithm, in the spirit of torch's `OptimizerInfo`: everything the protocol, the
harness and kind inference need to know about an algorithm lives in its `AlgorithmSpec`.

Adding an algorithm means writing its optimizer (`flatcheck.algorithms`), its batched functional
step and one `AlgorithmSpec` passed to `register` (flatcheck's own are in `flatcheck.impl.builtin`).
Nothing else in flatcheck dispatches on the algorithm's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from flatcheck.errors import FlatcheckError
from flatcheck.problems import Problem

# (problem, x (n, d), hyper-parameters, generator, antithetic, draw) -> x after one step, (n, d).
# `draw` is what the harness drew for this step (`AlgorithmSpec.data`), before the step's own draws.
BatchedStep = Callable[[Problem, torch.Tensor, dict[str, Any], torch.Generator, bool, Any], torch.Tensor]


class Required:
    """The default of a hyper-parameter that every claim sets (lr, rho, …)."""

    def __repr__(self) -> str:
        return "required"


REQUIRED = Required()


@dataclass(frozen=True)
class AlgorithmSpec:
    """One algorithm of the papers and how an implementation of it is constructed and driven.

    name: the algorithm's name (`Claim.algorithm`, `--algorithm`).
    optimizer: flatcheck's own `torch.optim.Optimizer` for it.
    batched_step: its functional step over many independent chains (`BatchedStep`).
    hyper: the hyper-parameters passed to every construction, by flatcheck name, each with its
        default when a claim does not set it: a value, `REQUIRED`, or a function of the other
        hyper-parameters (η′ defaults to η).
    optional: hyper-parameters passed only when a claim sets them, because the papers' own
        statements need them only on some instances (NSO's noise law P, SAP's Remark 2 radius ξ).
    harness: hyper-parameters that describe the harness's data (mini-batch size and sampling),
        never passed to a constructor.
    fixed: constructor arguments that are not hyper-parameters (SAM's base optimizer); `--kwargs`
        may replace them.
    data: what the harness draws for each step before the algorithm's own draws: "example" (one
        example index per chain), "minibatch" (mini-batch weights per chain) or None.
    closure: what the harness's loss closure evaluates: "loss" (the step's loss, f or the
        step's data), "example_switch" (ahn2024 Alg. 2: closure(example=False) is f,
        closure(example=True) the step's f_i) or "no_backward" (returns the loss with its graph
        and does not call backward(); GD on L^asc differentiates twice itself).
    driver: the built-in driver that performs one step (`flatcheck.impl.drivers.DRIVERS`).
    random: whether the algorithm draws randomness of its own inside a step.
    calls: closure evaluations inside one call of step() of flatcheck's own optimizer (SAM's first
        pass is the driver's), as a function of the completed hyper-parameters; the test battery
        checks it.
    aliases: spellings of the algorithm inside a class name (lower case, letters and digits).
    family: the other algorithms the same class serves (a SAM is full-batch and stochastic SAM).
    others: class names (lower case, letters and digits) of other published algorithms that an
        alias would match, each with what it is: such a class is never inferred to be this one.
    protocol: one paragraph telling a user how flatcheck constructs and drives an implementation.
    """

    name: str
    optimizer: type
    batched_step: BatchedStep
    hyper: Mapping[str, Any]
    protocol: str
    aliases: tuple[str, ...]
    calls: Callable[[dict[str, Any]], int]
    optional: tuple[str, ...] = ()
    harness: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    data: str | None = None
    closure: str = "loss"
    driver: str = "closure"
    random: bool = False
    family: tuple[str, ...] = ()
    others: Mapping[str, str] = field(default_factory=dict)

    def complete(self, hp: Mapping[str, Any]) -> dict[str, Any]:
        """The claim's hyper-parameters with every default filled in (hp's own values first)."""
        out = dict(hp)
        for name, default in self.hyper.items():
            if name in out:
                continue
            if default is REQUIRED:
                raise FlatcheckError(f"a {self.name!r} step needs the hyper-parameter {name!r}")
            out[name] = default(out) if callable(default) else default
        return out

    def constructor_args(self, hp: Mapping[str, Any]) -> dict[str, Any]:
        """What a construction receives by flatcheck name: every hyper-parameter (defaults filled),
        the optional ones the claim set, and the fixed arguments."""
        full = self.complete(hp)
        passed = {k: v for k, v in full.items() if k in self.hyper or k in self.optional}
        return {**self.fixed, **passed}

    def parameter_names(self) -> tuple[str, ...]:
        """Every name a claim may set for this algorithm (the names `--kwargs` must not repeat)."""
        return (*self.hyper, *self.optional, *self.harness)


SPECS: dict[str, AlgorithmSpec] = {}


def register(spec: AlgorithmSpec) -> AlgorithmSpec:
    """Make an algorithm known to the protocol, the harness and kind inference."""
    SPECS[spec.name] = spec
    return spec


def spec_of(algorithm: str) -> AlgorithmSpec:
    if algorithm not in SPECS:
        raise FlatcheckError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(sorted(SPECS))}")
    return SPECS[algorithm]
