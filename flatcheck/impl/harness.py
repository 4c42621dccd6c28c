"""What the harness draws and evaluates around one step, shared by the built-in batched steps and
the driver of a user's optimizer so both see the same draws for the same seed.

The harness owns the data: for algorithms whose spec names data ("example": sam_stochastic, sap;
"minibatch": sgd) it draws the example(s) of each step from the check's generator *first*, before
any draw of the algorithm itself, and hands the draw to the step; `step_examples` replays those
draws for a check. (NSO and WP-SGD with a batch_size draw a fresh mini-batch at every gradient
evaluation instead: their oracle g, `gradient_oracle`; NSO's with `PAIRED` one per two consecutive
evaluations, the ±U pair of the proof's g_z.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from flatcheck.algorithms import example_indices, minibatch_weights
from flatcheck.errors import FlatcheckError
from flatcheck.impl.spec import AlgorithmSpec
from flatcheck.numeric import hvp
from flatcheck.problems import Problem

# The harness hyper-parameter (True/False) "each mini-batch serves two consecutive gradient
# evaluations": the NSO paper's oracle g_z with one seed z^{(j)} per perturbation, shared by
# W + U^{(j)} and W − U^{(j)} (Algorithm 1 line 4, the proof of Lemma 4.4). An algorithm opts in by
# naming it in its spec's `harness`.
PAIRED = "paired_batches"


def need_examples(problem: Problem, kind: str) -> int:
    if not problem.examples:
        raise FlatcheckError(f"a {kind!r} step needs a problem with a per-example split f = (1/n)Σf_i")
    return problem.n_examples


def harness_draws(
    spec: AlgorithmSpec, problem: Problem, x: torch.Tensor, hp: dict[str, Any], gen: torch.Generator
) -> torch.Tensor | None:
    """This step's data for the n chains of x (n, d): example indices (n,) for spec.data "example",
    mini-batch weights (n, n_examples) for "minibatch", None otherwise."""
    if spec.data is None:
        return None
    need_examples(problem, spec.name)
    if spec.data == "example":
        return draw_examples(problem, x.shape[0], gen, x.device)
    return draw_weights(problem, x.shape[0], hp, gen, x.dtype, x.device)


def draw_examples(problem: Problem, n: int, gen: torch.Generator, device: str | torch.device) -> torch.Tensor:
    """The example index of each of n chains for this step, i ~ Unif([n_examples])."""
    return example_indices(n, problem.n_examples, gen, device)


def draw_weights(
    problem: Problem, n: int, hp: dict[str, Any], gen: torch.Generator, dtype, device: str | torch.device
) -> torch.Tensor:
    """Mini-batch weights 1{i∈S}/B per chain, (n, n_examples): hp batch_size, sampling (default bernoulli)."""
    return minibatch_weights(
        n, problem.n_examples, int(hp["batch_size"]), str(hp.get("sampling", "bernoulli")), gen, dtype, device
    )


def step_examples(problem: Problem, n: int, seed: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """The example indices `Implementation.step_many(..., seed)` used for its n chains (sap, sam_stochastic)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return draw_examples(problem, n, gen, device)


def step_weights(
    problem: Problem, n: int, hp: dict[str, Any], seed: int, dtype=torch.float64, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """The mini-batch weights `Implementation.step_many(..., seed)` used for its n chains (sgd)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return draw_weights(problem, n, hp, gen, dtype, device)


def example_grads(problem: Problem, x: torch.Tensor) -> torch.Tensor:
    """Every ∇f_i at every row: x (B, d) -> (B, n, d)."""
    n, b = problem.n_examples, x.shape[0]
    rows = x.repeat(n, 1)
    index = torch.arange(n, device=x.device).repeat_interleave(b)
    return problem.grad_example(rows, index).view(n, b, -1).transpose(0, 1)


def gradient_oracle(
    problem: Problem, hp: dict[str, Any], gen: torch.Generator, paired: bool = False
) -> Callable[[torch.Tensor], torch.Tensor]:
    """g for NSO / WP-SGD: the exact ∇f, or with hp batch_size a mini-batch gradient (an unbiased
    estimator, NSO Assumption 4.1), batched over leading dimensions. The mini-batch is fresh at
    every evaluation; with `paired` the input (…, 2m, d) holds two halves along its second-to-last
    axis — `nso_step`'s cat([W + U, W − U]) — and rows j and j + m share one draw."""
    if "batch_size" not in hp:
        return problem.grad

    def g(x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        if paired:
            if x.dim() < 2 or x.shape[-2] % 2:
                raise FlatcheckError(f"a paired oracle needs (…, 2m, d) evaluations, two halves; got {tuple(x.shape)}")
            half = draw_weights(problem, rows.shape[0] // 2, hp, gen, x.dtype, x.device)
            half = half.view(*x.shape[:-2], x.shape[-2] // 2, -1)
            w = torch.cat([half, half], -2).reshape(rows.shape[0], -1)
        else:
            w = draw_weights(problem, rows.shape[0], hp, gen, x.dtype, x.device)
        return (w.unsqueeze(-1) * example_grads(problem, rows)).sum(-2).view_as(x)

    return g


def loss_hvp(problem: Problem) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """∇²f(x)v row-wise: the exact Hessian's product where it is a monomial table (`Problem.monomial`:
    cheaper than differentiating f twice), else by double backward."""
    if getattr(problem, "monomial", False):
        return lambda x, v: (problem.hess(x) @ v.unsqueeze(-1)).squeeze(-1)
    return lambda x, v: hvp(problem.f, x, v)
