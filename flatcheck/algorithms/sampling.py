"""Random draws the papers' algorithms need, batched over independent chains: examples, mini-batches,
random signs and symmetric perturbation distributions."""

from __future__ import annotations

import math

import torch

from flatcheck.numeric import unit_sphere
from flatcheck.symbolic import moments

NOISES = ("gaussian", "laplace", "uniform", "rademacher")  # the NSO paper's laws (Table 1)
# A law of flatcheck's own, beside the paper's: coordinates 0 with probability 1 − SPARSE_P, else
# ±σ/√SPARSE_P. It is symmetric at zero, so Theorem 4.3 admits it, and its mass at 0 with rare large
# values is what makes (28) and Lemma 4.4's C²H(P)/k nearly attained (ratio 1 − SPARSE_P on a kinked
# ∇f; at most ½ under the paper's four laws). No user's class knows its name: only built-ins draw it.
SPARSE_P = float(moments.SPARSE_P)
LAWS = (*NOISES, "sparse")
SAMPLINGS = ("bernoulli", "without_replacement")


def example_indices(n: int, n_examples: int, gen: torch.Generator, device: str | torch.device = "cpu") -> torch.Tensor:
    """i ~ Unif([n]) for each of n chains (ahn2024 Alg. 2; wen2023 (7) with batch size 1)."""
    return torch.randint(0, n_examples, (n,), generator=gen, device=device)


def minibatch_weights(
    n: int,
    n_examples: int,
    batch_size: int,
    sampling: str,
    gen: torch.Generator,
    dtype=torch.float64,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Weights (n, n_examples) of the mini-batch gradient (1/B) Σ_{i∈S} ∇f_i (dexter2024 §2):
    `bernoulli` puts each i in S independently with probability B/n_examples (the paper's analysis);
    `without_replacement` draws S uniformly among the subsets of size B. Both are unbiased for ∇f."""
    if not 1 <= batch_size <= n_examples:
        raise ValueError(f"batch_size must be in [1, {n_examples}] (got {batch_size})")
    if sampling == "bernoulli":
        mask = torch.rand(n, n_examples, generator=gen, dtype=dtype, device=device) < batch_size / n_examples
    elif sampling == "without_replacement":
        ranks = torch.rand(n, n_examples, generator=gen, device=device).argsort(-1).argsort(-1)
        mask = ranks < batch_size
    else:
        raise ValueError(f"unknown sampling {sampling!r}; choose one of {SAMPLINGS}")
    return mask.to(dtype) / batch_size


def random_signs(
    n: int, gen: torch.Generator, antithetic: bool = False, dtype=torch.float64, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """σ ~ Unif({±1}) per chain, shape (n, 1); antithetic=True returns the halves (σ, −σ)."""
    m = (n + 1) // 2 if antithetic else n
    s = torch.randint(0, 2, (m, 1), generator=gen, device=device).to(dtype) * 2 - 1
    return torch.cat([s, -s])[:n] if antithetic else s


def symmetric_noise(
    shape: tuple[int, ...],
    d: int,
    sigma: float,
    noise: str,
    gen: torch.Generator,
    dtype=torch.float64,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Draws U of shape (*shape, d) from a distribution symmetric at zero with i.i.d. coordinates of
    standard deviation σ (so H(P) = E‖U‖² = dσ²): Gaussian N(0, σ²), Laplace with scale σ/√2,
    uniform on [−√3σ, √3σ], Rademacher ±σ (NSO paper Table 1 and Theorem 4.3), sparse: 0 with
    probability 7/8, else ±σ√8."""
    if noise == "gaussian":
        return sigma * torch.randn(*shape, d, generator=gen, dtype=dtype, device=device)
    u = torch.rand(*shape, d, generator=gen, dtype=dtype, device=device)
    if noise == "uniform":
        return sigma * math.sqrt(3.0) * (2 * u - 1)
    if noise == "rademacher":
        return sigma * torch.where(u < 0.5, -1.0, 1.0).to(dtype)
    if noise == "sparse":
        spike = torch.where(u < 0.5, -1.0, 1.0).to(dtype) * (sigma / math.sqrt(SPARSE_P))
        return torch.where((2 * u - 1).abs() > 1 - SPARSE_P, spike, torch.zeros_like(u))
    if noise == "laplace":
        # Inverse CDF of Laplace(0, b): −b·sign(u')·log(1 − 2|u'|), u' = u − ½; b = σ/√2.
        c = (u - 0.5).clamp(min=-0.5 + torch.finfo(dtype).eps)  # u = 0 would give an infinite draw
        return -(sigma / math.sqrt(2.0)) * torch.sign(c) * torch.log1p(-2 * c.abs())
    raise ValueError(f"unknown noise {noise!r}; choose one of {LAWS}")


def small_vectors(
    n: int, d: int, radius: float, gen: torch.Generator, dtype=torch.float64, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """ξ uniform on the sphere of the given (small) radius — ahn2024 Remark 2's fallback."""
    return radius * unit_sphere((n,), d, gen, dtype, device)
