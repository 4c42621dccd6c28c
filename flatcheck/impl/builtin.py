"""flatcheck's own implementations, one per algorithm kind, in the protocol's terms."""

from __future__ import annotations

import torch

from flatcheck.algorithms import RSP, rsp_directions, rsp_step
from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem


def _rsp_batched(
    problem: Problem, x: torch.Tensor, hp: dict[str, float], gen: torch.Generator, antithetic: bool
) -> torch.Tensor:
    g = rsp_directions(x.shape[0], x.shape[1], gen, antithetic, x.dtype, x.device)
    return rsp_step(
        problem.grad,
        x,
        g,
        lr=hp["lr"],
        lr_prime=hp.get("lr_prime", hp["lr"]),
        rho=hp["rho"],
        eps0=hp.get("eps0", float("inf")),
    )


BUILTINS: dict[str, Implementation] = {
    "rsp": Implementation("flatcheck.algorithms:RSP", "rsp", RSP, batched_step=_rsp_batched, builtin=True),
}


def builtin(algorithm: str) -> Implementation:
    return BUILTINS[algorithm]
