"""The protocol for an implementation of a paper's algorithm (DESIGN.md, "Someone else's
implementation"), and the adapter that drives it.

An implementation is a `torch.optim.Optimizer`. flatcheck constructs it as
`Cls(params, **hyper_parameters)` — or `factory(params, **hyper_parameters)` with `--factory`,
for constructors that need a model, a scheduler or a base-optimizer instance — passing every
hyper-parameter of the algorithm on every construction, by flatcheck name (lr, rho, eps0,
lr_prime, k, sigma, …; the algorithm's spec gives the defaults, `rename` maps them to the class's
own names, `kwargs` adds fixed ones and may not repeat a hyper-parameter). It then performs each
step with the algorithm's driver (`flatcheck.impl.drivers`; `--driver` picks another), handing it
a loss closure for the step's loss (`AlgorithmSpec.closure`, `AlgorithmSpec.data`).

The parameters are split, as in a real model, over several tensors of different shapes (a
matrix, a vector and a one-element tensor where the dimension allows, `parameter_shapes`), all in
one parameter group: a per-tensor normalisation or projection differs from the papers' global one.
A claim that sets the harness key `GROUPED`, or `LAYOUT` to "groups", gets a class built with one
param group per tensor instead (as a model with decayed and undecayed parameters is): the papers'
x is still the whole vector, so a normalisation, projection or draw per param group differs too;
`LAYOUT` "wide" gives a matrix of two rows and several columns, where a draw shared along a row
or a matrix's own norm differs (`flatcheck.problems.layouts` draws the layout per instance). A
factory always receives the tensors, its documented contract.

One optimizer object per chain is kept across the steps of a run (`Chains`), so state carried from
step to step (momentum, a reused direction, a step counter) shows in the run; a claim that sets the
harness key `ITERATION` = i gets chains that continue deep copies of one object taken i steps first,
so a defect that waits for a step count shows too. flatcheck's own
algorithms also have a batched functional step; checks use it to advance many independent draws at
once. The harness's draws (examples, mini-batches) come first in every step, from the check's
generator, in both paths (`flatcheck.impl.harness`).
"""

from __future__ import annotations

import copy
import inspect
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from flatcheck.errors import Contradiction, FlatcheckError, NonFiniteError, ProtocolError
from flatcheck.impl.drivers import Driver, load_object, resolve_driver, resolve_factory
from flatcheck.impl.harness import PAIRED, draw_weights, harness_draws
from flatcheck.impl.kinds import infer_algorithm, kinds_for
from flatcheck.impl.spec import SPECS, AlgorithmSpec, BatchedStep, spec_of
from flatcheck.problems import LAYOUTS, Problem
from flatcheck.problems.local import MonomialMap

# The harness key a claim sets (truthy) to build a user's class with one param group per tensor.
GROUPED = "param_groups"

# The harness key a claim sets (an int i) to check the steps of optimizers i steps into a run (`Chains`).
ITERATION = "iteration"

# The harness key a claim sets to one of `LAYOUTS` (`flatcheck.problems.layouts`) to pick how the
# parameter vector is split over tensors and param groups (`parameter_shapes`, `_Driver`).
LAYOUT = "layout"


def harness_keys(scalars: dict[str, Any]) -> dict[str, Any]:
    """The harness keys of a step claim's instance: the iteration its optimizers start at and the
    layout of their parameters (the instance's `iteration` and `layout`, else 0 and "tensors")."""
    layout = scalars.get("layout", LAYOUTS[0])
    if layout not in LAYOUTS:
        raise FlatcheckError(f"unknown parameter layout {layout!r}; one of {', '.join(LAYOUTS)}")
    return {ITERATION: scalars.get("iteration", 0), LAYOUT: layout}


# A --kwargs string naming an object: module.path:attr.path
_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass
class Implementation:
    """An optimizer plus how to construct and drive it.

    optimizer: the class (None when `factory` builds the optimizer); factory: a function
    `(params, **args) -> optimizer` receiving what the class would, or its 'module:function';
    driver: a built-in driver's name, a 'module:function' or a function `(optimizer, closure)`
    (None: the algorithm's own, `AlgorithmSpec.driver`); rename: flatcheck's hyper-parameter names
    -> the constructor's; kwargs: fixed constructor arguments, a 'module:name' string standing for
    that object (a key naming one of the algorithm's hyper-parameters is an error). factory, driver
    and kwargs are kept as given, for the replay command; their resolved forms are `build`,
    `drive` and `fixed`."""

    name: str
    algorithm: str
    optimizer: type | None
    batched_step: BatchedStep | None = None
    rename: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    builtin: bool = False
    factory: str | Callable[..., Any] | None = None
    driver: str | Driver | None = None

    def __post_init__(self) -> None:
        spec = self.spec
        names = spec.parameter_names()
        theirs = {self.rename.get(k, k): k for k in names}
        clash = sorted(k for k in self.kwargs if k in theirs)
        if clash:
            raise FlatcheckError(
                f"--kwargs sets {', '.join(clash)}, a hyper-parameter of {self.algorithm!r} that each claim sets "
                f"itself ({', '.join(names)}); drop it from --kwargs (use --rename to map the name)"
            )
        if self.optimizer is None and self.factory is None:
            raise FlatcheckError(f"{self.name}: give an optimizer class or a factory")
        self.build = resolve_factory(self.factory) if self.factory is not None else self.optimizer
        self.drive = resolve_driver(self.driver or spec.driver)
        self.fixed = resolve_references(self.kwargs)

    @property
    def spec(self) -> AlgorithmSpec:
        return spec_of(self.algorithm)

    def constructor_args(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Every argument of a construction: the algorithm's hyper-parameters (defaults filled,
        renamed) and fixed arguments, then `kwargs`."""
        args = {self.rename.get(k, k): v for k, v in self.spec.constructor_args(hp).items()}
        return {**args, **self.fixed}

    def make(self, params: list, hp: dict[str, Any]) -> torch.optim.Optimizer:
        args = self.constructor_args(hp)
        try:
            opt = self.build(params, **args)
        except TypeError as e:
            raise ProtocolError(
                f"{self.name}({', '.join(args)}) failed: {e}. Map flatcheck's hyper-parameter names to "
                f"yours with --rename (e.g. --rename rho=radius), pass fixed ones with --kwargs, or build the "
                f"optimizer with --factory module:function. {self.spec.protocol}"
            ) from e
        if not isinstance(opt, torch.optim.Optimizer):
            raise ProtocolError(f"{self.name} built {type(opt).__name__}, not a torch.optim.Optimizer")
        return opt

    def step_many(
        self, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int, antithetic: bool = False
    ) -> torch.Tensor:
        """One step from each row of x (n, d); returns the new rows (n, d)."""
        return self.run_many(problem, x, hp, seed, 1, antithetic)[:, 1]

    def run_many(
        self, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int, steps: int, antithetic: bool = False
    ) -> torch.Tensor:
        """`steps` consecutive steps of one optimizer object per row of x (n, d), its state kept,
        fresh draws every step; returns the iterates (n, steps + 1, d), the starting rows first.
        `path` gives the same run with the harness's draws of every step."""
        return self.path(problem, x, hp, seed, steps, antithetic).x

    def path(
        self,
        problem: Problem,
        x: torch.Tensor,
        hp: dict[str, Any],
        seed: int,
        steps: int,
        antithetic: bool = False,
        points: bool = False,
    ) -> Path:
        """`steps` consecutive steps of one optimizer object per row of x (n, d) — for comparing
        each step with the paper's update from the point the run actually reached:

            run = impl.path(problem, x0, hp, seed, steps=3)
            for t in range(3):
                # run.x[:, t + 1] is the implementation's step from run.x[:, t]; run.draws[t] is
                # what the harness drew for it (example indices (n,), mini-batch weights
                # (n, n_examples), or None), so the paper's update from run.x[:, t] with the same
                # draw is its prediction.

        The first step is the one `step_many(problem, x, hp, seed)` takes, with the same draws.
        With `points`, the run also keeps where each step evaluated the loss (`Path.points`): what a
        step drew shows there even where its result does not (NSO's pairs W ± U on a quadratic)."""
        chains = Chains(self, problem, x, hp, seed, antithetic, points=points)
        for _ in range(steps):
            chains.step()
        return Path(torch.stack(chains.iterates, 1), chains.draws, chains.points)

    def finite(
        self, out: torch.Tensor, hp: dict[str, Any], problem: Problem | None = None, x: torch.Tensor | None = None
    ) -> torch.Tensor:
        """out, or a NonFiniteError; with the problem and the rows x the step started from, the
        error says when the step started where ∇f vanishes — the usual cause in a normalised update."""
        if not torch.isfinite(out).all():
            raise NonFiniteError(
                f"{self.name} produced NaN or inf parameters after a step from a finite point "
                f"(algorithm {self.algorithm!r}, hyper-parameters {hp})" + _stationary_hint(problem, x)
            )
        return out


def _stationary_hint(problem: Problem | None, x: torch.Tensor | None) -> str:
    if problem is None or x is None:
        return ""
    try:
        norms = torch.linalg.vector_norm(problem.grad(x), dim=-1)
    except Exception:  # the hint must never hide the error it explains
        return ""
    if not bool((norms <= 1e-12 * (1 + x.abs().amax(-1))).any()):
        return ""
    return (
        "; the step started where ∇f = 0, where an update normalised by ‖∇f‖ (or by a per-example or"
        " mini-batch gradient's norm) is 0/0: correct code guards it (‖g‖ + ε, or the paper's own rule"
        " for a vanished gradient, e.g. Remark 2 of Ahn et al. 2024 for SAP)"
    )


@dataclass
class Path:
    """A run of `Implementation.path`: x (n, steps + 1, d) the iterates, the starting rows first;
    draws[t] the harness's draw for step t (None for an algorithm without data); points[t][i], where
    asked for, the points (m, d) chain i's step t evaluated the loss at, in the order it did."""

    x: torch.Tensor
    draws: list[Any]
    points: list[list[torch.Tensor]] | None = None


class Chains:
    """n independent runs of one implementation from the rows of x (n, d), advanced one step at a
    time: flatcheck's batched step, or one optimizer object per row kept across steps.

    The harness generator is seeded with `seed`; `step(seed=s)` reseeds it for that step (the runs
    of `flatcheck.impl.dynamics` give every step its own seed). Each chain's optimizer is built and
    stepped with torch's global RNG on a stream of its own (`_chain`, seeded `row_seed` of its row),
    continued from step to step and never leaked: a class that draws from the global RNG, or seeds a
    generator of its own from it (torch.initial_seed()), draws apart in every chain.

    With the harness key `ITERATION` = i > 0 in hp, a user's optimizers start i steps into a run:
    the papers' steps hold at every iteration, and a defect may wait for a step count (noise frozen
    after a warm-up, a schedule, state first used at the second step). One optimizer takes i steps
    on the linear loss ±⟨c, w⟩ (`_warm_up`) and each chain gets a copy of it — its state, counters
    and buffers — with its parameters set to the chain's row (`_Driver.branch`). flatcheck's batched
    steps are pure functions of their inputs; for them i changes nothing. The copies' generators are
    reseeded, so a class that draws its noise when it steps (the papers' algorithms) draws apart in
    every chain. For an algorithm that draws randomness in its steps (`AlgorithmSpec.random`) whose
    checked step's draws are already in the trunk's state (copies seeded apart evaluate the loss at
    the same points: drawn at the end of the step before, or into a buffer of several steps' draws),
    the chains are copies taken that many steps short (`LOOKBACK`: 1, 2, 4, …, 64) and take the last
    warm-up steps on their own (`_own_steps`), so such a class draws apart in every chain too — unless
    the copies' checked step repeats, or negates, the draw their step before had made and used (noise
    reused or frozen, antithetic steps: a defect, shown by the chains sharing the trunk's draw). A
    class that draws from a seed of its own, alike in optimizers built apart, is a protocol problem
    (`_check_drawn_apart`). A class that seeds its own
    generator with a constant (reproducible runs) would draw alike in every chain too: where an
    optimizer built apart (a probe) holds a generator in the same state as the first chain's, every
    chain's is reseeded.

    With `row` = i, only chain i of the n is run (x stays (n, d) at the start, the iterates are
    (1, d)): the harness draws for all n chains as the full run does and hands chain i its own, so
    chain i's run is the full run's row i. The chains of a run can then be spread
    over processes (`flatcheck.impl.dynamics.shared_iterates_at`)."""

    def __init__(
        self,
        impl: Implementation,
        problem: Problem,
        x: torch.Tensor,
        hp: dict[str, Any],
        seed: int,
        antithetic: bool = False,
        row: int | None = None,
        points: bool = False,
    ):
        self.impl, self.problem, self.antithetic = impl, problem, antithetic
        self.hp = impl.spec.complete(hp)
        self.gen = torch.Generator(device=x.device)
        self.gen.manual_seed(seed)
        self.row, self._all = row, x
        if row is not None and (impl.batched_step is not None or _oracle_draws(impl.spec, self.hp)):
            # A batched step, or draws at every gradient evaluation (one generator for the chains in turn).
            raise FlatcheckError(f"a run of {impl.algorithm!r} cannot be split into its chains")
        if row is not None:
            x = x[row : row + 1]
        self.iterates: list[torch.Tensor] = [x]
        self.draws: list[Any] = []
        if points and impl.batched_step is not None:
            raise FlatcheckError(f"{impl.name} steps batched, without a loss closure: no evaluation points to keep")
        self.points: list[list[torch.Tensor]] | None = [] if points else None
        self._drivers: list[_Driver] = []
        iteration = int(self.hp.get(ITERATION, 0))
        if impl.batched_step is None:
            if impl.spec.random:
                _check_drawn_apart(impl, problem, self._all[0], self.hp, seed)
            first = 0 if row is None else row
            with _Rng(x.device):
                if iteration:
                    late = (self.hp, self.gen, iteration, seed, row)
                    self._drivers = _late_drivers(impl, problem, self._all[0], x, *late)
                else:
                    seeds = [row_seed(seed, first + i) for i in range(len(x))]
                    self._drivers = [_chain(impl, problem, r, self.hp, self.gen, s) for r, s in zip(x, seeds)]
            if not iteration and self._drivers:
                with _Rng(x.device):  # the probe's own draws leave the run's stream alone
                    probe = _Driver(impl, problem, x[0], self.hp, self.gen)
                if _seeded_alike(probe.opt, self._drivers[0].opt):
                    for i, drv in enumerate(self._drivers):
                        _reseed(drv.opt, row_seed(seed, first + i))

    @property
    def x(self) -> torch.Tensor:
        return self.iterates[-1]

    def step(self, seed: int | None = None) -> torch.Tensor:
        """Advance every chain one step; returns the new rows (n, d)."""
        if seed is not None:
            self.gen.manual_seed(seed)
        impl, x = self.impl, self.x
        if self.row is None:
            draw = harness_draws(impl.spec, self.problem, x, self.hp, self.gen)
        else:
            # The draws of all n chains (the generator advances as in the full run), this chain's kept.
            draw = harness_draws(impl.spec, self.problem, self._all, self.hp, self.gen)
            draw = None if draw is None else draw[self.row : self.row + 1]
        if impl.batched_step is not None:
            out = impl.batched_step(self.problem, x, self.hp, self.gen, self.antithetic, draw)
        else:
            rows = draw if draw is not None else [None] * x.shape[0]
            if self.points is not None:
                for drv in self._drivers:
                    drv.points = []
            out = torch.stack([drv.step(d) for drv, d in zip(self._drivers, rows)])
            if self.points is not None:
                self.points.append([torch.stack(drv.points) for drv in self._drivers])
                for drv in self._drivers:
                    drv.points = None
        self.draws.append(draw)
        self.iterates.append(impl.finite(out, self.hp, self.problem, x))
        return out


# Implementations `_check_drawn_apart` has judged, by id (it runs once per implementation and
# process): with the implementation, True where optimizers built apart drew apart, False where they
# stepped alike, moving, with no seed of their own — nothing drawn (`_late_drivers` then looks back
# for no draw).
_DRAWN_APART: dict[int, tuple[Implementation, bool]] = {}
# The steps each of those optimizers takes: SAP's fair sign σ agrees in all `PROBES` of them at all
# of these steps by chance with probability 2^{−(PROBES−1)·STEPS}.
APART_STEPS = 3


def _check_drawn_apart(impl: Implementation, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int) -> None:
    """Raise a ProtocolError where an algorithm with noise draws alike in optimizers built apart:
    `PROBES` of them, built with torch's global RNG seeded apart and the generators they hold
    reseeded apart, each taking `APART_STEPS` steps from x with the same harness draws, evaluate the
    loss at the same points — points that change from step to step, so the class does draw, from a
    seed of its own (a generator it seeds at every step from a fixed number). Every chain would draw
    alike: runs that must be independent are not, and no verdict on its noise could be told from a
    defect. Nothing is decided where the points stay put (a step that draws nothing there, SAP's and
    RSP's plain step, or a defect that never draws: the claims judge it), nor where no seed of the
    class's own shows — the generators it holds end apart, as reseeded, and torch's global seed is
    untouched: steps that move without any draw (a sign alternating +1, −1), a defect the claims
    judge — and a step that fails is left to the chains to show. Generators the optimizers share
    (passed in by the caller) and torch's global RNG are left as they were."""
    if id(impl) in _DRAWN_APART:
        return
    runs: list[list[torch.Tensor]] = []
    moving = seeded = False
    held: list[tuple[bytes, ...]] = []
    shared: dict[int, tuple[Any, Any]] = {}
    with _Rng(x.device):
        try:
            for k in range(PROBES):
                seed_global(row_seed(seed, -20 - k), x.device)
                drv = _Driver(impl, problem, x, hp, torch.Generator(device=x.device))
                for g in _generators(drv.opt):
                    shared.setdefault(id(g), (g, _saved(g)))
                _reseed(drv.opt, row_seed(seed, -20 - k))
                run = drv.steps_from(x, APART_STEPS, row_seed(seed, -30))
                moving = moving or any(not torch.equal(run[0], later) for later in run[1:])
                # Its own seeding shows as generators it holds ending alike though reseeded apart, or as
                # torch's global seed moved.
                held.append(tuple(_state(g) for g in _generators(drv.opt)))
                seeded = seeded or torch.initial_seed() != row_seed(seed, -20 - k)
                runs.append(run)
                if k == 1 and not moving:  # a step that draws nothing here: two runs say so
                    return
        except Exception:  # the user's class failing here fails the chains' own steps too
            return
        finally:
            for g, state in shared.values():
                _restore(g, state)
    seeded = seeded or (bool(held[0]) and all(h == held[0] for h in held))
    apart = any(any(not torch.equal(a, b) for a, b in zip(runs[0], run)) for run in runs[1:])
    if apart or not seeded:
        _DRAWN_APART[id(impl)] = (impl, apart or not moving)
    elif moving:
        raise ProtocolError(
            f"{impl.name} draws alike in runs seeded apart: {PROBES} optimizers built with torch's global RNG "
            f"seeded apart, the generators they hold reseeded apart, took the same {APART_STEPS} steps from one "
            "start with the same data, their perturbed points changing from step to step — it draws from a "
            "seed of its own (a generator seeded at every step from a fixed number?), so flatcheck cannot make "
            "the independent runs its noise is judged on. Draw from torch's global RNG, or from a generator the "
            "optimizer keeps and seeds once (flatcheck reseeds those per run)"
        )


def _saved(g: Any) -> Any:
    if isinstance(g, torch.Generator):
        return g.get_state()
    if isinstance(g, np.random.Generator):
        return g.bit_generator.state
    return g.get_state() if isinstance(g, np.random.RandomState) else g.getstate()


def _restore(g: Any, state: Any) -> None:
    if isinstance(g, torch.Generator):
        g.set_state(state)
    elif isinstance(g, np.random.Generator):
        g.bit_generator.state = state
    elif isinstance(g, np.random.RandomState):
        g.set_state(state)
    else:
        g.setstate(state)


def row_seed(seed: int, row: int | None) -> int:
    """The seed of torch's global RNG for chain `row` of a run seeded with `seed`, run on its own, or
    for the whole run (row None). Never `seed` itself, the harness generator's: a class drawing from
    the global RNG would replay the stream the harness draws its examples and mini-batches from, its
    own draws tied to them (SAP's σ = 2i − 1 for two examples, torch.randint(0, 2) after the
    harness's randint(0, 2, (n,)) — the mean over i and σ then biased)."""
    if row is None:
        return (seed * 1_000_033 + 1) % (2**62)
    return (seed * 1_000_033 + 104_729 * (row + 1)) % (2**62)


def seed_global(seed: int, device: torch.device | str = "cpu") -> None:
    """torch.manual_seed(seed) for the generators flatcheck runs on: the CPU's, and the device's for
    CUDA. (torch.manual_seed also queues a seeding of every lazy device module, recording a stack
    trace each time: 1.3 ms a call, most of a per-chain stream's cost.)"""
    torch.default_generator.manual_seed(seed)
    if torch.device(device).type == "cuda":
        torch.cuda.manual_seed(seed)


class _Rng:
    """torch's global RNG (CPU, and the device's for CUDA) set to a saved state inside the block and
    saved again on exit; the caller's state is restored. (What `torch.random.fork_rng` does, without
    its per-call bookkeeping: this runs once per step.)"""

    def __init__(self, device: torch.device, state: tuple | None = None):
        self.cuda = torch.device(device).type == "cuda"
        self.state = state

    def _get(self) -> tuple:
        return torch.get_rng_state(), torch.cuda.get_rng_state() if self.cuda else None

    def _set(self, state: tuple) -> None:
        torch.set_rng_state(state[0])
        if self.cuda:
            torch.cuda.set_rng_state(state[1])

    def __enter__(self) -> _Rng:
        self.caller = self._get()
        if self.state is not None:
            self._set(self.state)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.state = self._get()
        self._set(self.caller)


def parameter_shapes(d: int, wide: bool = False) -> list[tuple[int, ...]]:
    """How a parameter vector of dimension d is split, as in a real model: a 2 × c matrix, a vector
    and a one-element tensor (d ≥ 4); a 2 × 1 matrix and a one-element tensor (d = 3), so that a
    defect in how a class treats a matrix (noise or a norm shared by its rows) shows from d = 3 on;
    two one-element tensors (d = 2); one tensor (d = 1). `wide` (the layout "wide"): a matrix with
    two rows and as many columns as d allows, a one-element tensor for an odd d (d ≥ 4), where a
    draw shared along a row or a matrix norm (the spectral norm for the Frobenius) shows; one row
    of d columns below."""
    if wide:
        if d < 4:
            return [(1, d)]
        return [(2, d // 2)] + [(1,)] * (d % 2)
    if d == 1:
        return [(1,)]
    if d == 2:
        return [(1,), (1,)]
    if d == 3:
        return [(2, 1), (1,)]
    cols = (d - 2) // 2
    return [(2, cols), (d - 1 - 2 * cols,), (1,)]


def _late_drivers(
    impl: Implementation,
    problem: Problem,
    first_row: torch.Tensor,
    x: torch.Tensor,
    hp: dict[str, Any],
    gen: torch.Generator,
    iteration: int,
    seed: int,
    row: int | None,
) -> list[_Driver]:
    """One driver per row of x, `iteration` steps into a run (`Chains`): copies of one warmed-up
    optimizer, the same whichever chains this process runs (`row`), each on a global RNG stream of
    its own (`_chain`); where the optimizer cannot be copied, each warmed up on its own."""
    seeds = [row_seed(seed, (0 if row is None else row) + i) for i in range(len(x))]

    def apart() -> list[_Driver]:
        # Where the optimizer cannot be copied (whatever an attribute's __deepcopy__ or __reduce__
        # raises: a lock, an open file), each chain is warmed up on its own.
        return [_warm_up([_chain(impl, problem, r, hp, gen, s)], iteration, seed)[0].reset(r) for r, s in zip(x, seeds)]

    seed_global(row_seed(seed, -1), x.device)
    trunk = _Driver(impl, problem, first_row, hp, gen)
    # An algorithm drawing randomness in its steps keeps copies of the trunk taken a few steps short
    # (`LOOKBACK`): where the checked step's draws were already in the trunk's state, unused
    # (`_own_steps`), the chains are copies of the one taken before they were drawn and take the
    # last warm-up steps on their own.
    draws = impl.spec.random and _DRAWN_APART.get(id(impl), (impl, True))[1]
    marks = sorted({j for j in LOOKBACK if j < iteration} | {iteration}, reverse=True) if draws else []
    snapshots: dict[int, _Driver] = {}
    done = 0
    try:
        for j in marks:
            _warm_up([trunk], iteration - j - done, seed, start=done)
            done = iteration - j
            snapshots[j] = trunk.branch(first_row, row_seed(seed, -3))
    except Exception:
        return apart()
    _warm_up([trunk], iteration - done, seed, start=done)
    own = _own_steps(trunk, snapshots, first_row, seed) if marks else 0
    base = snapshots[own] if own else trunk
    try:
        copies = [base.branch(r, s, stream=True) for r, s in zip(x, seeds)]
    except Exception:
        return apart()
    return [c.reset(r) for c, r in zip(_warm_up(copies, own, seed, start=iteration - own), x)]


def _chain(impl: Implementation, problem: Problem, x: torch.Tensor, hp: dict[str, Any], gen, seed: int) -> _Driver:
    """A chain's driver: built, and stepped, with torch's global RNG on a stream of its own seeded
    with `seed` (`_Driver.rng`), so a class that seeds a generator of its own from the global RNG
    (torch.initial_seed(), a torch.randint) gets a seed of its own in every chain."""
    with _Rng(x.device) as rng:
        seed_global(seed, x.device)
        drv = _Driver(impl, problem, x, hp, gen)
    drv.rng = rng.state
    return drv


def _stream(device: torch.device, seed: int) -> tuple:
    """The state of torch's global RNG seeded with `seed` (a `_Driver.rng`)."""
    with _Rng(device) as rng:
        seed_global(seed, device)
    return rng.state


# How many steps short of the chains' start the trunk is copied (`_late_drivers`): a class drawing a
# step ahead needs 1, one keeping a buffer of B steps' draws at most the first of these ≥ B, or the
# whole warm-up (a copy of the fresh optimizer, also kept). Past `SHALLOW`, tried only where a copy's
# steps move while the copies agree: draws made before the copy, not a step that draws nothing.
LOOKBACK = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SHALLOW = 64
# Copies of the trunk that `_own_steps` steps. SAP's fair sign σ is one bit: a correct class's own
# draws all alike by chance (2^{1−PROBES}) only costs each chain a few warm-up steps, but a class
# drawing σ ahead whose copies' checked σ all equal, or all negate, their σ of the step before
# (2^{2−PROBES}) would be taken for reused noise and its chains would share one σ.
PROBES = 16


def _own_steps(trunk: _Driver, snapshots: dict[int, _Driver], x: torch.Tensor, seed: int) -> int:
    """How many of the last warm-up steps each chain takes on its own: 0 where the trunk's copies
    seeded apart step apart from x (their draws are their own: a class drawing when it steps);
    else the fewest j (`snapshots`, copies taken j steps short) from which copies taking j steps
    of their own step apart — a class that drew the checked step's noise ahead (at the end of the
    step before, into a buffer of several steps' draws, up to the whole warm-up's) — unless every
    copy's checked step repeats
    or negates its step before, which its own draws had made (noise reused across steps: a defect, whose
    chains then share the trunk's one draw, as do those of noise frozen for good, or a step that
    draws nothing at that point: SAP's and RSP's plain step)."""
    if _apart(_probe(trunk, 0, x, seed)[-1]):
        return 0
    moving: bool | None = None
    for j in sorted(snapshots):
        if j > SHALLOW:
            moving = _moving(trunk, x, seed) if moving is None else moving
            if not moving:
                return 0
        steps = _drawn_from(snapshots[j], j, x, seed)
        if steps is None:
            continue
        return 0 if _reused(steps[-1], steps[-2], x) else j
    return 0


def _moving(trunk: _Driver, x: torch.Tensor, seed: int) -> bool:
    """Whether a copy of the trunk steps differently at two steps from x with the same data: it
    draws at the checked step, from a store made before it was copied (the copies agree)."""
    steps = _probe(trunk, 1, x, seed, copies=2)
    return any(not _same_points(a, b) for a, b in zip(steps[0], steps[1]))


def _drawn_from(base: _Driver, steps: int, x: torch.Tensor, seed: int) -> list[list[torch.Tensor]] | None:
    """The copies' steps (`_probe`) where copies of `base` taking `steps` steps of their own step
    apart at the checked one, else None. Two copies first: where none of their steps differs (no
    draw of their own touched a step, as in a step without draws) the answer is no at the cost of
    two runs."""
    if not any(_apart(rows) for rows in _probe(base, steps, x, seed, copies=2)):
        return None
    rows = _probe(base, steps, x, seed)
    return rows if _apart(rows[-1]) else None


def _probe(base: _Driver, steps: int, x: torch.Tensor, seed: int, copies: int = 0) -> list[list[torch.Tensor]]:
    """`copies` (else `PROBES`) copies of `base`, their generators and torch's global RNG seeded apart, each taking
    steps + 1 steps on the problem from x, every step with the same harness draws: by step and copy,
    the points each step evaluated the loss at and the row it stepped to. A step that fails leaves
    every step alike (the chains, sharing the trunk's state, show the failure in their own steps);
    torch's global RNG is left as it was."""
    rows: list[list[torch.Tensor]] = [[] for _ in range(steps + 1)]
    with _Rng(x.device):
        for k in range(copies or PROBES):
            try:
                probe = base.branch(x, row_seed(seed, -4 - k))
                seed_global(row_seed(seed, -4 - k), x.device)
                for t, step in enumerate(probe.steps_from(x, steps + 1, row_seed(seed, -4 - PROBES))):
                    rows[t].append(step)
            except Exception:  # the user's step raising on the problem, or a copy failing
                return [[x.unsqueeze(0)] for _ in range(steps + 1)]
    return rows


def _reused(now: list[torch.Tensor], before: list[torch.Tensor], x: torch.Tensor) -> bool:
    """Whether every copy's checked step perturbs by the draw its step before made and used (`_probe`'s
    steps by copy: the points the loss was evaluated at, then the row): the step before's own draws
    differ between copies, and in each copy the checked step's points are the step before's, or
    their reflection through x (U used again, or −U: antithetic steps), as a set (NSO's pairs
    W ± U_j reflect onto themselves)."""
    if not _apart(before):
        return False
    for sign in (1.0, -1.0):
        if all(_same_points(a[:-1], x + sign * (b[:-1] - x)) for a, b in zip(now, before)):
            return True
    return False


def _same_points(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two sets of points (rows) are the same to round-off, in any order."""
    if a.shape != b.shape or not len(a):
        return False
    scale = 1e-10 * (1.0 + float(a.abs().max()))
    left = list(range(len(b)))
    for row in a:
        hit = next((j for j in left if float((row - b[j]).abs().max()) <= scale), None)
        if hit is None:
            return False
        left.remove(hit)
    return True


def _apart(rows: list[torch.Tensor]) -> bool:
    """Whether the copies' steps differ (their draws were their own)."""
    return any(not torch.equal(rows[0], r) for r in rows[1:])


def _warm_up(drivers: list[_Driver], steps: int, seed: int, start: int = 0) -> list[_Driver]:
    """`drivers` after steps start, …, start + steps − 1 of a warm-up on the linear loss ±⟨c, w⟩,
    c = (1, −1, 1, …), its sign alternating: every algorithm here steps a fixed −η′c on a linear loss
    (NSO's ∇f(W ± U) = c, SAM's ascent point has gradient c, RSP's and SAP's projections of c off c
    vanish), so W returns near where it began while the optimizer draws its noise, counts its steps
    and fills its buffers as in a run. The harness's own draws for these steps come from a generator
    of their own: the checked steps get the draws `step_examples` replays."""
    lead = drivers[0]
    spec, problem, hp = lead.impl.spec, lead.problem, lead.hp
    rows = torch.stack([d.vector() for d in drivers]).detach()
    c = torch.ones_like(rows[0])
    c[1::2] = -1
    n = problem.n_examples if problem.examples else 0
    signs = (_Linear(c, n), _Linear(-c, n))
    gen = torch.Generator(device=rows.device)
    gen.manual_seed(row_seed(seed, -2 - start))
    for t in range(start, start + steps):
        draw = harness_draws(spec, problem, rows, hp, gen)
        before, rows = (
            rows,
            torch.stack([d.step(None if draw is None else draw[j], signs[t % 2], gen) for j, d in enumerate(drivers)]),
        )
        lead.impl.finite(rows, hp)
        if spec.data != "minibatch":  # a Bernoulli mini-batch of |S| examples steps by (|S|/B)·η′c
            _same_move(drivers, rows - before, t)
    return drivers


def _same_move(drivers: list[_Driver], moved: torch.Tensor, t: int) -> None:
    """Raise a Contradiction where warm-up step t (0-based) of a driver moved otherwise than its first
    step on the same sign of the linear loss did: the paper's update rule moves every such step by the
    same −η′(±c) (`_warm_up`), at every iteration. A float32 reduction in a float64 model moves it
    by up to 2(d + 4)·u₃₂ relative (`flatcheck.impl.predict.ErrorModel`), ×8 here; round-off of the
    parameters' magnitude besides. A defect waiting for a step count of its own — a closure called
    every 250 steps without zeroing, a schedule, a cache refreshed on a timer — shows at that step,
    whatever its period up to the warm-up's length."""
    eps, u32 = torch.finfo(moved.dtype).eps, torch.finfo(torch.float32).eps / 2
    for d, step in zip(drivers, moved):
        first = d.moves.setdefault(t % 2, (t, step))
        if first[0] == t:
            continue
        size = float(first[1].abs().max())
        tol = 16 * (step.numel() + 4) * u32 * size + 256 * eps * (float(d.vector().detach().abs().max()) + size)
        off = float((step - first[1]).abs().max())
        if off > tol:
            raise Contradiction(
                f"on the linear loss ⟨±c, w⟩ of the warm-up, where the update rule moves every step of one sign by "
                f"the same −η′(±c), step {t + 1} moved by {_short(step)}, step {first[0] + 1} by {_short(first[1])} "
                f"(max difference {off:.3g} > {tol:.2g}): the update differs from step to step (a schedule, a "
                "counter, an event every so many steps)",
                {
                    "warm_up_step": t + 1,
                    "moved": step.tolist(),
                    "first_step": first[0] + 1,
                    "first_moved": first[1].tolist(),
                },
            )


def _short(v: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(a):.6g}" for a in v[:4]) + (", …]" if v.numel() > 4 else "]")


class _Linear:
    """The loss ⟨c, w⟩ and every example's the same, as a table [L, ∇L] (`_Losses`' exact interface:
    the closure writes ∇L = c into .grad without autograd's backward, most of a warm-up step's cost)."""

    exact = True

    def __init__(self, c: torch.Tensor, n_examples: int) -> None:
        def table(params: list[torch.Tensor]) -> torch.Tensor:
            z = torch.cat([p.reshape(-1) for p in params])
            # + 0·‖w‖²: on autograd's graph the gradient c stays a function of w, so a class that
            # differentiates it again (GD on L^asc's Hessian-vector product) gets the Hessian 0, not an error.
            loss = (z * c).sum() + 0 * (z * z).sum() if torch.is_grad_enabled() else (z * c).sum()
            return torch.cat([loss.view(1), c])

        self.f: Loss = table
        self.examples = [table] * n_examples


_GENERATORS = (torch.Generator, random.Random, np.random.RandomState, np.random.Generator)


def _generators(obj: Any) -> list[Any]:
    """The generators `obj` holds — torch's, Python's random.Random, numpy's — in its attributes,
    its param groups and its state, a few levels deep, in a fixed order."""
    found: list[Any] = []

    def visit(v: Any, depth: int) -> None:
        if isinstance(v, _GENERATORS):
            found.append(v)
        elif depth and isinstance(v, dict):
            for u in v.values():
                visit(u, depth - 1)
        elif depth and isinstance(v, (list, tuple)):
            for u in v:
                visit(u, depth - 1)

    visit(vars(obj), 3)
    return found


def _state(g: Any) -> bytes:
    if isinstance(g, torch.Generator):
        return bytes(g.get_state().numpy())
    if isinstance(g, np.random.Generator):
        return repr(g.bit_generator.state).encode()
    if isinstance(g, np.random.RandomState):
        return g.get_state()[1].tobytes()
    return repr(g.getstate()).encode()


def _seeded_alike(a: Any, b: Any) -> bool:
    """Whether two optimizers built apart hold distinct generators in one state (a class seeding its
    own generator with a constant): their chains would draw alike. A generator both hold (passed in
    by the caller) is shared, its draws going to the chains in turn."""
    return any(g is not h and _state(g) == _state(h) for g, h in zip(_generators(a), _generators(b)))


def _reseed(obj: Any, seed: int) -> None:
    """Reseed every generator `obj` holds (`_generators`) from `seed` scrambled (never the stream
    torch's global RNG gets from the same seed): the chains are independent runs, and a copied
    optimizer (`_Driver.branch`) or a class seeding its generator with a constant would otherwise
    draw in every chain what the first draws."""
    for i, g in enumerate(_generators(obj)):
        s = (seed * 6364136223846793005 + 1442695040888963407 + 7919 * i) % (2**62)
        if isinstance(g, torch.Generator):
            g.manual_seed(s)
        elif isinstance(g, np.random.Generator):
            g.bit_generator.state = type(g.bit_generator)(s).state
        else:
            g.seed(s % 2**32 if isinstance(g, np.random.RandomState) else s)


class _Driver:
    """One optimizer on one parameter vector, split over several tensors, stepped by its driver.

    The optimizer and its parameters are built once and kept across the steps; each step gets its
    own loss closure (a closure kept by the optimizer past its step still evaluates that step's loss)."""

    def __init__(self, impl: Implementation, problem: Problem, x: torch.Tensor, hp: dict[str, Any], gen):
        self.impl, self.problem, self.hp, self.gen = impl, problem, hp, gen
        spec = impl.spec
        layout = hp.get(LAYOUT, LAYOUTS[0])
        shapes = parameter_shapes(x.numel(), wide=layout == "wide")
        sizes = [int(torch.Size(s).numel()) for s in shapes]
        self.params = [torch.nn.Parameter(part.reshape(s).clone()) for part, s in zip(x.split(sizes), shapes)]
        self.shapes = [p.shape for p in self.params]
        grouped = (hp.get(GROUPED) or layout == "groups") and impl.factory is None
        self.opt = impl.make([{"params": [p]} for p in self.params] if grouped else self.params, hp)
        self.switch = spec.closure == "example_switch"
        self.backward = spec.closure != "no_backward"
        self.losses = _Losses(problem)
        # Where set (`steps_from`, a run keeping its points), every point the closure is evaluated at is appended.
        self.points: list[torch.Tensor] | None = None
        # Where set (a chain's driver, `_chain`), the state of the global RNG stream its steps draw from.
        self.rng: tuple | None = None
        # The first warm-up step on each sign of the linear loss: (step, how it moved) (`_same_move`).
        self.moves: dict[int, tuple[int, torch.Tensor]] = {}

    def vector(self) -> torch.Tensor:
        return torch.cat([p.reshape(-1) for p in self.params])

    def branch(self, x: torch.Tensor, seed: int, stream: bool = False) -> _Driver:
        """A copy of this driver's optimizer, every attribute and its state deep-copied (torch's
        `Optimizer.__getstate__` keeps only defaults, state and param groups: a step counter or a
        cached draw in an attribute would be lost), with its own parameter tensors set to x and the
        generators it holds reseeded from `seed` (`_reseed`); with `stream`, stepped on a global RNG
        stream of its own seeded from it too (`_chain`)."""
        twin = copy.copy(self)
        memo: dict[int, Any] = {}
        twin.params = copy.deepcopy(self.params, memo)
        twin.opt = object.__new__(type(self.opt))
        twin.opt.__dict__.update(copy.deepcopy(self.opt.__dict__, memo))
        _reseed(twin.opt, seed)
        twin.rng = _stream(x.device, seed) if stream else None
        twin.moves = dict(self.moves)
        return twin.reset(x)

    def reset(self, x: torch.Tensor) -> _Driver:
        """The parameters set to x, in place (the optimizer keeps its references to them)."""
        with torch.no_grad():
            for p, part in zip(self.params, x.split([p.numel() for p in self.params])):
                p.copy_(part.view_as(p))
        return self

    def steps_from(self, x: torch.Tensor, steps: int, draw_seed: int) -> list[torch.Tensor]:
        """`steps` steps on the problem, each from x with the harness draws of a generator seeded
        with `draw_seed` (the same data every step): per step, the points the closure evaluated the
        loss at and the row it stepped to, stacked — where a step's draws show, even those that do
        not move its result (NSO's pairs on a quadratic)."""
        out = []
        for _ in range(steps):
            gen = torch.Generator(device=x.device)
            gen.manual_seed(draw_seed)
            draw = harness_draws(self.impl.spec, self.problem, x.unsqueeze(0), self.hp, gen)
            self.points = []
            row = self.reset(x).step(None if draw is None else draw[0], gen=gen)
            out.append(torch.stack([*self.points, row]))
        return out

    def step(
        self, draw: Any, losses: _Losses | _Linear | None = None, gen: torch.Generator | None = None
    ) -> torch.Tensor:
        impl, spec, params = self.impl, self.impl.spec, self.params
        losses = losses or self.losses
        loss_fn = _loss_for(spec, losses, self.problem, self.hp, draw, gen or self.gen)
        switch = losses.examples[int(draw)] if self.switch else None
        backward, exact = self.backward, losses.exact
        calls = 0

        def closure(example: bool = False) -> torch.Tensor:
            nonlocal calls
            calls += 1
            if self.points is not None:
                self.points.append(torch.cat([p.detach().reshape(-1) for p in params]))
            fn = switch if example and switch is not None else loss_fn
            if exact and backward and _plain(params):
                with torch.no_grad():
                    return _backward(params, fn(params))
            loss = fn(params)
            if exact:
                loss = loss[0]
            if backward:
                loss.backward()
            return loss

        try:
            if self.rng is None:
                impl.drive(self.opt, closure)
            else:
                with _Rng(params[0].device, self.rng) as rng:
                    impl.drive(self.opt, closure)
                self.rng = rng.state
        except ProtocolError as e:
            raise ProtocolError(f"{impl.name}: {e}. {spec.protocol}") from e
        except (TypeError, AttributeError) as e:
            raise ProtocolError(f"{impl.name} could not be driven ({type(e).__name__}: {e}). {spec.protocol}") from e
        if calls == 0:
            raise ProtocolError(f"{impl.name}.step never called the closure. {spec.protocol}")
        if [p.shape for p in self.params] != self.shapes:
            raise ProtocolError(
                f"{impl.name}.step changed the parameter shapes {[tuple(s) for s in self.shapes]} -> "
                f"{[tuple(p.shape) for p in self.params]}"
            )
        # The step's row, a new tensor off the autograd graph (cat copies).
        with torch.no_grad():
            return self.vector()


# A loss of one chain's parameter tensors, evaluated at the point they hold: the loss (a scalar on
# autograd's graph), or with `_Losses.exact` its table [L, ∇L] (1 + d,) (linear in L, as the
# mini-batch sums need).
Loss = Callable[[list[torch.Tensor]], torch.Tensor]


class _Losses:
    """f and each f_i as losses of the parameter tensors. On a polynomial problem they are exact: one
    evaluation of `Problem.value_grad_tables` gives the loss and its sympy gradient, which the closure
    writes into .grad as loss.backward() would (`_backward`) — a few torch operations instead of
    autograd's graph through every term of the compiled formula, which is most of the time a user's
    step takes on a small problem; the same polynomial and gradient, expanded and summed in another
    order (agreeing to the round-off the step claims' tolerance bounds: Σ|c_α||z^α| of the expanded
    gradient, `predict.grad_scale`). Otherwise autograd differentiates the compiled formula."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.tables = problem.value_grad_tables if isinstance(problem, Problem) else None
        self.exact = self.tables is not None
        self.f: Loss = _of_table(self.tables[0]) if self.tables else _of(problem.f)

    @cached_property
    def examples(self) -> list[Loss]:
        # Built when a step first needs one: a problem given without examples (nso.sec3_1's matrix
        # sensing, whose oracle draws its own noise) has none to build.
        if self.tables:
            return [_of_table(t) for t in self.tables[1:]]
        return [_of(fi) for fi in self.problem.example_f]


def _of_table(table: MonomialMap) -> Loss:
    """The table on autograd's graph where grad mode is on, else its faster evaluation off the graph."""

    def loss(params: list[torch.Tensor]) -> torch.Tensor:
        z = torch.cat([p.reshape(-1) for p in params])
        return table(z) if torch.is_grad_enabled() else table.evaluate(z)

    return loss


def _of(fn: Callable[[torch.Tensor], torch.Tensor]) -> Loss:
    return lambda params: fn(torch.cat([p.reshape(-1) for p in params]))


def _plain(params: list[torch.Tensor]) -> bool:
    """Whether loss.backward() would only accumulate ∇L into each .grad: grad mode on, every tensor
    a leaf requiring grad, no hook on any (a class registering hooks, or turning grad off, gets
    autograd's own backward)."""
    return torch.is_grad_enabled() and all(
        p.requires_grad and p.is_leaf and not p._backward_hooks and not getattr(p, "_post_accumulate_grad_hooks", None)
        for p in params
    )


def _backward(params: list[torch.Tensor], table: torch.Tensor) -> torch.Tensor:
    """The loss table[0]; its gradient table[1:] accumulated into the tensors' .grad as autograd's
    backward does (a new tensor where .grad is None, else added in place)."""
    grads = table[1:].split([p.numel() for p in params])
    for p, g in zip(params, grads):
        if p.grad is None:
            p.grad = g.reshape(p.shape).clone()
        else:
            p.grad.add_(g.view(p.grad.shape))
    return table[0].clone()


def _loss_for(
    spec: AlgorithmSpec, losses: _Losses, problem: Problem, hp: dict[str, Any], draw: Any, gen: torch.Generator
) -> Loss:
    """The loss the closure evaluates (of f and the examples' f_i, `_Losses`): the step's example or
    mini-batch, a fresh mini-batch at every evaluation where a batch_size makes the gradient oracle
    stochastic (with PAIRED, where the spec declares it: a fresh one at every second evaluation of
    the step), else f."""
    if spec.data == "example" and spec.closure != "example_switch":
        return losses.examples[int(draw)]
    if spec.data == "minibatch":
        return lambda p: _weighted_loss(losses.examples, draw, p)
    if _oracle_draws(spec, hp):
        # NSO's unbiased estimator g (Assumption 4.1). Paired, a class that evaluates W + U_j, W − U_j
        # in turn gets the proof's g_z with one seed per pair. In any other order (all W + U_j first,
        # an extra call at W) draw z still serves m_z ≤ 2 of the 2k evaluations G averages, and on
        # additive oracle noise (the NSO families) E‖ξ‖² = (σ²/4k²)Σ_z m_z² ≤ σ²/k (Σ_z m_z = 2k):
        # a correct class is never pushed past (7) by the pairing.
        every = 2 if PAIRED in spec.harness and hp.get(PAIRED) else 1
        state: dict[str, Any] = {"calls": 0}

        def minibatch(p: list[torch.Tensor]) -> torch.Tensor:
            if state["calls"] % every == 0:
                (state["w"],) = draw_weights(problem, 1, hp, gen, p[0].dtype, p[0].device)
            state["calls"] += 1
            return _weighted_loss(losses.examples, state["w"], p)

        return minibatch
    return losses.f


def _oracle_draws(spec: AlgorithmSpec, hp: dict[str, Any]) -> bool:
    """Whether the closure draws a fresh mini-batch at each evaluation (a stochastic gradient oracle)."""
    return spec.data is None and "batch_size" in spec.harness and "batch_size" in hp


def _weighted_loss(fs: list[Loss], w: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    """Σ_i w_i f_i(p), the examples outside the mini-batch (w_i = 0) left out: adding their exact
    zeros changes neither the loss nor its gradient, bit for bit (they are most of the cost of a
    size-1 batch); only an f_i outside the batch that is inf or NaN, whose 0·f_i made the loss NaN,
    no longer does. An empty batch keeps every term: the loss stays on the graph (value and gradient 0)."""
    picked = [i for i, wi in enumerate(w.tolist()) if wi != 0] or range(len(fs))
    return sum(w[i] * fs[i](p) for i in picked)


def resolve_references(kwargs: dict[str, Any]) -> dict[str, Any]:
    """--kwargs values that name an object ('torch.optim:SGD', 'mypkg.sched:constant') replaced by it."""
    return {k: load_object(v, "object") if isinstance(v, str) and _REFERENCE.match(v) else v for k, v in kwargs.items()}


def load_class(path: str) -> type:
    """Resolve 'package.module:Class' to an optimizer class, with one clear message on failure."""
    obj = load_object(path, "Class")
    if not (inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)):
        raise ProtocolError(f"{path} is not a torch.optim.Optimizer subclass; flatcheck checks optimizers")
    return obj


def user_implementation(
    target: str | type | None,
    algorithm: str | None,
    *,
    rename: dict[str, str] | None = None,
    kwargs: dict[str, Any] | None = None,
    factory: str | Callable[..., Any] | None = None,
    driver: str | Driver | None = None,
    known: list[str] | None = None,
) -> dict[str, Implementation]:
    """The adapters `flatcheck check` and the pytest fixture run claims on, one per algorithm the
    target serves (a SAM is full-batch and stochastic SAM): `target` is the class (or its
    'module:Class' path; with a factory it may be None, and the algorithm must then be given);
    `known` narrows the algorithms it may be checked as (default: every registered one)."""
    cls = load_class(target) if isinstance(target, str) else target
    build = resolve_factory(factory) if factory is not None else None
    if cls is None and build is None:
        raise FlatcheckError("name the optimizer class, or build it with a factory")
    if isinstance(target, str):
        name = target
    else:
        named = cls if cls is not None else build
        name = f"{named.__module__}:{named.__qualname__}"
    if algorithm is None:
        if cls is None:
            raise FlatcheckError("with a factory and no class, name the algorithm (--algorithm)")
        algorithm = infer_algorithm(cls.__name__, known or list(SPECS))
    return {
        k: Implementation(
            name, k, cls, rename=dict(rename or {}), kwargs=dict(kwargs or {}), factory=factory, driver=driver
        )
        for k in kinds_for(algorithm, known or list(SPECS))
    }
