"""flatcheck's own implementations, one per algorithm kind, in the protocol's terms.

Every batched step takes its hyper-parameters by flatcheck name (documented in each algorithm's
module) and draws in the same order as the driver of a user's optimizer: the harness's examples
or mini-batches first (`flatcheck.impl.harness`), then the algorithm's own randomness.
"""

from __future__ import annotations

from typing import Any

import torch

from flatcheck.algorithms import (
    GD,
    NSO,
    RSP,
    SAM,
    SAP,
    SGD,
    WPSGD,
    AscentGD,
    ascent_step,
    gd_step,
    nso_step,
    random_signs,
    rsp_directions,
    rsp_step,
    sam_step,
    sam_step_example,
    sap_step,
    sgd_step,
    small_vectors,
    symmetric_noise,
    wp_step,
)
from flatcheck.algorithms.linear_sgd import LinSGD
from flatcheck.impl.harness import (
    draw_examples,
    draw_weights,
    example_grads,
    gradient_oracle,
    loss_hvp,
    need_examples,
)
from flatcheck.impl.linear import linsgd_batched
from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem

HP = dict[str, Any]


def _rsp_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
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


def _sap_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    need_examples(problem, "sap")
    n, d = x.shape
    index = draw_examples(problem, n, gen, x.device)
    sign = random_signs(n, gen, antithetic, x.dtype, x.device)
    xi = small_vectors(n, d, hp.get("xi", 1e-6), gen, x.dtype, x.device)
    return sap_step(
        problem.grad,
        problem.grad_example,
        x,
        index,
        sign,
        xi,
        lr=hp["lr"],
        lr_prime=hp.get("lr_prime", hp["lr"]),
        rho=hp["rho"],
        eps0=hp.get("eps0", float("inf")),
    )


def _sam_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    return sam_step(problem.grad, x, lr=hp["lr"], rho=hp["rho"])


def _sam_stochastic_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool
) -> torch.Tensor:
    need_examples(problem, "sam_stochastic")
    index = draw_examples(problem, x.shape[0], gen, x.device)
    return sam_step_example(problem.grad_example, x, index, lr=hp["lr"], rho=hp["rho"])


def _ascent_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    return ascent_step(problem.grad, loss_hvp(problem), x, lr=hp["lr"], rho=hp["rho"])


def _noise(hp: HP, shape: tuple[int, ...], x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return symmetric_noise(shape, x.shape[-1], hp["sigma"], hp.get("noise", "gaussian"), gen, x.dtype, x.device)


def _nso_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    # Line 4 already pairs U with −U, so antithetic draws add nothing here.
    u = _noise(hp, (x.shape[0], int(hp.get("k", 1))), x, gen)
    return nso_step(gradient_oracle(problem, hp, gen), x, u, lr=hp["lr"])


def _wp_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    n = x.shape[0]
    u = _noise(hp, ((n + 1) // 2 if antithetic else n,), x, gen)
    if antithetic:
        u = torch.cat([u, -u])[:n]
    return wp_step(gradient_oracle(problem, hp, gen), x, u, lr=hp["lr"])


def _gd_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    return gd_step(problem.grad, x, lr=hp["lr"])


def _sgd_batched(problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool) -> torch.Tensor:
    need_examples(problem, "sgd")
    w = draw_weights(problem, x.shape[0], hp, gen, x.dtype, x.device)
    return sgd_step(lambda z: example_grads(problem, z), x, w, lr=hp["lr"])


def _builtin(kind: str, cls: type, batched) -> Implementation:
    return Implementation(f"flatcheck.algorithms:{cls.__name__}", kind, cls, batched_step=batched, builtin=True)


BUILTINS: dict[str, Implementation] = {
    "rsp": _builtin("rsp", RSP, _rsp_batched),
    "sap": _builtin("sap", SAP, _sap_batched),
    "sam": _builtin("sam", SAM, _sam_batched),
    "sam_stochastic": _builtin("sam_stochastic", SAM, _sam_stochastic_batched),
    "ascent_gd": _builtin("ascent_gd", AscentGD, _ascent_batched),
    "nso": _builtin("nso", NSO, _nso_batched),
    "wp_sgd": _builtin("wp_sgd", WPSGD, _wp_batched),
    "gd": _builtin("gd", GD, _gd_batched),
    "sgd": _builtin("sgd", SGD, _sgd_batched),
    "linsgd": _builtin("linsgd", LinSGD, linsgd_batched),
}


def builtin(algorithm: str) -> Implementation:
    return BUILTINS[algorithm]
