"""Gradient descent and mini-batch SGD.

    GD:  x_{t+1} = x_t − η∇f(x_t)
    SGD: x_{t+1} = x_t − (η/B) Σ_{i∈S} ∇f_i(x_t)   (dexter2024 §2; S by Bernoulli sampling with
         probability B/n, or uniformly among the subsets of size B, i.e. without replacement)

As torch optimizers both are the same update on whatever loss the closure returns: SGD's
randomness is the data loader's (the closure computes the mini-batch loss (1/B)Σ_{i∈S} f_i).

Hyper-parameters by flatcheck name: lr (η); for SGD also batch_size (B) and sampling
("bernoulli" | "without_replacement"), which the harness uses to build the mini-batch closure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, evaluate_grad, params_of, setting


def gd_step(grad: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, lr: float) -> torch.Tensor:
    """One GD step for a batch of chains: x (B, d), grad (B, d) -> (B, d)."""
    return x - lr * grad(x)


def sgd_step(
    grad_examples: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, weights: torch.Tensor, *, lr: float
) -> torch.Tensor:
    """One mini-batch SGD step per chain: grad_examples(x) gives every ∇f_i(x), shape (B, n, d);
    weights (B, n) are the mini-batch weights 1{i∈S}/B (`minibatch_weights`)."""
    return x - lr * (weights.unsqueeze(-1) * grad_examples(x)).sum(-2)


class GD(torch.optim.Optimizer):
    """x ← x − η∇(closure's loss). step(closure) evaluates the closure (zero grads, loss, backward)."""

    def __init__(self, params: Iterable, lr: float):
        if lr <= 0:
            raise ValueError(f"{type(self).__name__} needs lr > 0 (got {lr})")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError(f"{type(self).__name__}.step needs a closure that computes the loss and calls backward()")
        params = params_of(self)
        loss, g = evaluate_grad(closure, params)
        add_flat(params, -setting(self)["lr"] * g)
        return loss


class SGD(GD):
    """Mini-batch SGD: the GD update on the mini-batch loss the closure computes, (1/B)Σ_{i∈S} f_i."""
