"""The protocol for an implementation of a paper's algorithm (DESIGN.md, "Someone else's
implementation"), and the adapter that drives it.

An implementation is a `torch.optim.Optimizer` subclass whose `step(closure)` takes a closure
that zeroes the gradients, computes the loss, calls backward() and returns the loss. flatcheck's
own algorithms also provide a batched functional step; checks use it to advance many
independent draws at once, and fall back to one optimizer per draw for a user's class.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from flatcheck.errors import NonFiniteError, ProtocolError
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

    def make(self, params: list[torch.Tensor], hp: dict[str, float]) -> torch.optim.Optimizer:
        args = {self.rename.get(k, k): v for k, v in hp.items()}
        args.update(self.kwargs)
        try:
            return self.optimizer(params, **args)
        except TypeError as e:
            raise ProtocolError(
                f"{self.name}({', '.join(args)}) failed: {e}. Map flatcheck's hyper-parameter names to "
                f"yours with --rename (e.g. --rename rho=radius) or pass fixed ones with --kwargs."
            ) from e

    def step_many(
        self, problem: Problem, x: torch.Tensor, hp: dict[str, float], seed: int, antithetic: bool = False
    ) -> torch.Tensor:
        """One step from each row of x (n, d); returns the new rows (n, d)."""
        if self.batched_step is not None:
            gen = torch.Generator(device=x.device)
            gen.manual_seed(seed)
            out = self.batched_step(problem, x, hp, gen, antithetic)
        else:
            torch.manual_seed(seed)
            out = torch.stack([self._one_step(problem, row, hp) for row in x])
        if not torch.isfinite(out).all():
            raise NonFiniteError(f"{self.name} produced NaN or inf parameters after one step")
        return out

    def _one_step(self, problem: Problem, x: torch.Tensor, hp: dict[str, float]) -> torch.Tensor:
        p = torch.nn.Parameter(x.clone())
        opt = self.make([p], hp)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = problem.f(p)
            loss.backward()
            return loss

        try:
            opt.step(closure)
        except TypeError as e:
            raise ProtocolError(
                f"{self.name}.step(closure) failed: {e}. flatcheck calls step with a closure that zeroes "
                "the gradients, computes the loss, calls backward() and returns the loss."
            ) from e
        out = p.detach()
        if out.shape != x.shape:
            raise ProtocolError(f"{self.name}.step changed the parameter shape {tuple(x.shape)} -> {tuple(out.shape)}")
        return out


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
