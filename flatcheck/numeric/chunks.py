"""Chunked batched evaluation: many rows at once, never more than `chunk` rows in memory.

A Monte Carlo check wants thousands of draws evaluated as tensors (one call per chunk, not a
Python loop per draw) but should not hold all draws at once when each is large (a perturbed
gradient of a network, a Hessian-vector product). `chunked` maps a batched function over row
chunks; `streaming_moments` accumulates mean and variance chunk by chunk (Chan et al.'s pairwise
update), so the interval of a mean needs O(chunk) memory whatever the number of draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """fn applied to row chunks of x (n, ...) and concatenated: equals fn(x) for a row-wise fn."""
    if chunk is None or x.shape[0] <= chunk:
        return fn(x)
    if chunk < 1:
        raise ValueError(f"chunk must be ≥ 1 (got {chunk})")
    return torch.cat([fn(part) for part in x.split(chunk)])


@dataclass
class Moments:
    """Running count, mean and sum of squared deviations (per coordinate) of a stream of draws."""

    count: int
    mean: torch.Tensor
    m2: torch.Tensor

    @staticmethod
    def of(samples: torch.Tensor) -> Moments:
        mean = samples.mean(0)
        return Moments(samples.shape[0], mean, ((samples - mean) ** 2).sum(0))

    def merge(self, other: Moments) -> Moments:
        """Pairwise update (Chan, Golub, LeVeque 1979): exact, and stable in float64."""
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        return Moments(n, mean, m2)

    @property
    def var(self) -> torch.Tensor:
        """Unbiased sample variance per coordinate."""
        return self.m2 / max(self.count - 1, 1)

    @property
    def sem(self) -> torch.Tensor:
        """Standard error of the mean per coordinate."""
        return torch.sqrt(self.var / self.count)


def streaming_moments(sample: Callable[[int], torch.Tensor], n: int, chunk: int) -> Moments:
    """Moments of n draws produced by sample(k) -> (k, ...) in chunks of at most `chunk` rows.

    sample is called ⌈n/chunk⌉ times with consecutive chunk sizes; it draws from its own seeded
    generator, so the stream (and the result) is a deterministic function of (seed, n, chunk)."""
    if n < 1 or chunk < 1:
        raise ValueError(f"need n ≥ 1 and chunk ≥ 1 (got n={n}, chunk={chunk})")
    acc: Moments | None = None
    for start in range(0, n, chunk):
        part = Moments.of(sample(min(chunk, n - start)))
        acc = part if acc is None else acc.merge(part)
    assert acc is not None
    return acc
