"""Reading an algorithm's internals back from its steps, for any implementation.

For RSP and SAP (ahn2024 (2), (7)) the perturbed step is x⁺ = x − η(∇f(x) + v), so
v = (x − x⁺)/η − ∇f(x): the check needs nothing from the implementation but its step."""

from __future__ import annotations

import torch

from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem


def perturbations(
    impl: Implementation,
    problem: Problem,
    x: torch.Tensor,
    hp: dict[str, float],
    n: int,
    seed: int,
    antithetic: bool = True,
) -> torch.Tensor:
    """n draws of v_t at the point x (d,), from n independent perturbed steps (ε₀ = ∞ forces the
    perturbed branch). Returns (n, d)."""
    hp = {**hp, "eps0": float("inf")}
    xs = x.expand(n, -1).clone()
    x_next = impl.step_many(problem, xs, hp, seed, antithetic=antithetic)
    return (xs - x_next) / hp["lr"] - problem.grad(xs)
