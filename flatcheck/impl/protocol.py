"""The protocol for an implementation of a paper's algorithm (DESIGN.md, "Someone else's
implementation"), and the adapter that drives it.

An implementation is a `torch.optim.Optimizer` subclass. flatcheck constructs it with its
hyper-parameters by flatcheck name (lr, rho, eps0, lr_prime, k, sigma, noise, …; `rename` maps
them to the class's own names, `kwargs` adds fixed ones) and drives one step per kind:

- rsp, nso, wp_sgd, gd: `step(closure)`; the closure zeroes the gradients, computes the full loss
  f, calls backward() and returns the loss; step returns that loss (PyTorch's convention).
- sgd: the same, the closure computing the harness's mini-batch loss (1/B)Σ_{i∈S} f_i
  (hp batch_size, sampling = "bernoulli" | "without_replacement").
- sap: `step(closure)` with `closure(example=False)`: example=False gives the full loss f,
  example=True the loss f_i of the example the harness drew for this step (ahn2024 Alg. 2).
- sam, sam_stochastic: davda54/sam's API. flatcheck constructs
  `Cls(params, base_optimizer=torch.optim.SGD, rho=…, lr=…)`, runs backward() at the current
  point, then calls `step(closure)` (its return value is not used); sam uses the full loss,
  sam_stochastic the loss L_k of the example the harness drew (wen2023 (7), batch size 1).
- ascent_gd: `step(closure)` where the closure returns the loss *without* calling backward()
  (GD on L^asc differentiates it twice itself).

flatcheck's own algorithms also provide a batched functional step; checks use it to advance many
independent draws at once, and fall back to one optimizer per draw for a user's class. The
harness's draws (examples, mini-batches) come first from the check's generator in both paths
(`flatcheck.impl.harness`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from flatcheck.errors import NonFiniteError, ProtocolError
from flatcheck.impl.harness import BATCH_KINDS, EXAMPLE_KINDS, draw_examples, draw_weights, need_examples
from flatcheck.problems import Problem

# (problem, x (n, d), hyper-parameters, generator, antithetic) -> x after one step, (n, d)
BatchedStep = Callable[[Problem, torch.Tensor, dict[str, float], torch.Generator, bool], torch.Tensor]


@dataclass
class Implementation:
    """An optimizer class plus how to call it. `rename` maps flatcheck's hyper-parameter names
    (lr, rho, eps0, …) to the class's own constructor arguments; `kwargs` are passed as given."""

    name: str
    algorithm: str
    optimizer: type
    batched_step: BatchedStep | None = None
    rename: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    builtin: bool = False

    def make(self, params: list, hp: dict[str, Any]) -> torch.optim.Optimizer:
        args = {self.rename.get(k, k): v for k, v in hp.items()}
        args.update(self.kwargs)
        try:
            return self.optimizer(params, **args)
        except TypeError as e:
            raise ProtocolError(
                f"{self.name}({', '.join(args)}) failed: {e}. Map flatcheck's hyper-parameter names to "
                f"yours with --rename (e.g. --rename rho=radius) or pass fixed ones with --kwargs. "
                f"{PROTOCOL.get(self.algorithm, '')}"
            ) from e

    def step_many(
        self, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int, antithetic: bool = False
    ) -> torch.Tensor:
        """One step from each row of x (n, d); returns the new rows (n, d)."""
        return self.run_many(problem, x, hp, seed, 1, antithetic)[:, 1]

    def run_many(
        self, problem: Problem, x: torch.Tensor, hp: dict[str, Any], seed: int, steps: int, antithetic: bool = False
    ) -> torch.Tensor:
        """`steps` steps of one optimizer per row of x (n, d), fresh draws every step; returns the
        iterates (n, steps + 1, d), the starting rows first."""
        gen = torch.Generator(device=x.device)
        gen.manual_seed(seed)
        path = [x]
        if self.batched_step is not None:
            for _ in range(steps):
                path.append(self._finite(self.batched_step(problem, path[-1], hp, gen, antithetic), hp))
            return torch.stack(path, 1)
        # The user's optimizer draws from torch's global RNG: seed it, without leaking the state.
        with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
            torch.manual_seed(seed)
            drivers = [_Driver(self, problem, row, hp, gen) for row in x]
            for _ in range(steps):
                draws = _harness_draws(self.algorithm, problem, x, hp, gen)
                path.append(self._finite(torch.stack([drv.step(dr) for drv, dr in zip(drivers, draws)]), hp))
        return torch.stack(path, 1)

    def _finite(self, out: torch.Tensor, hp: dict[str, Any]) -> torch.Tensor:
        if not torch.isfinite(out).all():
            raise NonFiniteError(
                f"{self.name} produced NaN or inf parameters after a step from a finite point "
                f"(algorithm {self.algorithm!r}, hyper-parameters {hp})"
            )
        return out


class _Driver:
    """One user optimizer on one parameter vector, stepped through the protocol of its kind.

    For the SAM kinds the vector is handed over as two parameter groups (first and second half):
    davda54's SAM normalises the ascent by the norm over all groups, and a real model has many
    tensors, so a per-tensor normalisation must show up as a wrong step."""

    def __init__(self, impl: Implementation, problem: Problem, x: torch.Tensor, hp: dict[str, Any], gen):
        self.impl, self.problem, self.hp, self.gen = impl, problem, hp, gen
        self.shape = x.shape
        sam = impl.algorithm in SAM_KINDS
        parts = x.tensor_split(2) if sam and x.numel() >= 2 else (x,)
        self.params = [torch.nn.Parameter(part.clone()) for part in parts]
        self.shapes = [p.shape for p in self.params]
        if sam:
            self.opt = impl.make(
                [{"params": [p]} for p in self.params],  # type: ignore[list-item]
                {**_constructor_hp(hp), "base_optimizer": torch.optim.SGD},
            )
        else:
            self.opt = impl.make(self.params, _constructor_hp(hp))

    def vector(self) -> torch.Tensor:
        return torch.cat(self.params) if len(self.params) > 1 else self.params[0]

    def step(self, draw: Any) -> torch.Tensor:
        impl, problem, opt = self.impl, self.problem, self.opt
        kind = impl.algorithm
        loss_fn = _loss_for(kind, problem, self.hp, draw, self.gen)
        calls = [0]

        def closure(example: bool = False) -> torch.Tensor:
            calls[0] += 1
            if kind == "sap":
                loss = problem.example_f[int(draw)](self.vector()) if example else problem.f(self.vector())
            else:
                loss = loss_fn(self.vector())
            if kind != "ascent_gd":
                opt.zero_grad()
                loss.backward()
            return loss

        if kind in SAM_KINDS:
            # davda54 protocol: the caller has already run backward() at the current point.
            opt.zero_grad()
            with torch.enable_grad():
                loss_fn(self.vector()).backward()
        try:
            ret = opt.step(closure)
        except TypeError as e:
            raise ProtocolError(f"{impl.name}.step(closure) failed: {e}. {PROTOCOL[kind]}") from e
        if calls[0] == 0:
            raise ProtocolError(f"{impl.name}.step never called the closure. {PROTOCOL[kind]}")
        if kind not in SAM_KINDS and ret is None:
            raise ProtocolError(
                f"{impl.name}.step(closure) returned None; a torch optimizer's step returns the loss the "
                "closure computed (PyTorch's convention)"
            )
        if [p.shape for p in self.params] != self.shapes:
            raise ProtocolError(
                f"{impl.name}.step changed the parameter shapes {[tuple(s) for s in self.shapes]} -> "
                f"{[tuple(p.shape) for p in self.params]}"
            )
        return self.vector().detach().clone()


SAM_KINDS = ("sam", "sam_stochastic")
# Hyper-parameters that describe the harness's data sampling, never passed to a constructor.
HARNESS_HP = ("batch_size", "sampling")

PROTOCOL = {
    **{
        k: "flatcheck calls step(closure) with a closure that zeroes the gradients, computes the loss, calls "
        "backward() and returns the loss."
        for k in ("rsp", "nso", "wp_sgd", "gd", "sgd")
    },
    "sap": "flatcheck calls step(closure); closure(example=False) zeroes the gradients, computes the full loss f "
    "(example=True: the loss f_i of this step's example), calls backward() and returns the loss.",
    "sam": "SAM follows davda54/sam: Cls(params, base_optimizer, rho=…, **base_kwargs); flatcheck runs backward() "
    "at the current point and then calls step(closure), which must re-evaluate the closure at the ascent point.",
    "ascent_gd": "flatcheck calls step(closure) with a closure that returns the loss without calling backward().",
}
PROTOCOL["sam_stochastic"] = PROTOCOL["sam"]


def _constructor_hp(hp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hp.items() if k not in HARNESS_HP}


def _harness_draws(algorithm: str, problem: Problem, x: torch.Tensor, hp: dict[str, Any], gen: torch.Generator):
    """Per row: the example (sap, sam_stochastic), the mini-batch weights (sgd), or nothing."""
    if algorithm in EXAMPLE_KINDS:
        need_examples(problem, algorithm)
        return draw_examples(problem, x.shape[0], gen, x.device)
    if algorithm in BATCH_KINDS:
        need_examples(problem, algorithm)
        return draw_weights(problem, x.shape[0], hp, gen, x.dtype, x.device)
    return [None] * x.shape[0]


def _loss_for(
    algorithm: str, problem: Problem, hp: dict[str, Any], draw: Any, gen: torch.Generator
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The loss the closure evaluates (sap switches between f and f_i itself)."""
    if algorithm == "sam_stochastic":
        return problem.example_f[int(draw)]
    if algorithm == "sgd":
        return lambda p: sum(w * f(p) for w, f in zip(draw, problem.example_f))
    if algorithm in ("nso", "wp_sgd") and "batch_size" in hp:
        # A fresh mini-batch at every evaluation: NSO's unbiased estimator g (Assumption 4.1).
        def minibatch(p: torch.Tensor) -> torch.Tensor:
            (w,) = draw_weights(problem, 1, hp, gen, p.dtype, p.device)
            return sum(wi * f(p) for wi, f in zip(w, problem.example_f))

        return minibatch
    return problem.f


def load_class(path: str) -> type:
    """Resolve 'package.module:Class' to the class, with one clear message on failure."""
    if ":" not in path:
        raise ProtocolError(f"{path!r} is not an import path; write it as module:Class, e.g. mypkg.opt:MySAM")
    mod_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ProtocolError(f"cannot import module {mod_name!r} ({e}); is it installed or on PYTHONPATH?") from e
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ProtocolError(f"module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not (inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)):
        raise ProtocolError(f"{path} is not a torch.optim.Optimizer subclass; flatcheck checks optimizers")
    return obj
