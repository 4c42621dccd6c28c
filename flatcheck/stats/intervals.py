"""Confidence intervals and multiplicity control for Monte Carlo checks."""

from __future__ import annotations

import math
from statistics import NormalDist

import torch

CATALOG_ALPHA = 1e-3  # DESIGN.md: chance of any false `falsified` over the whole catalog


def z_two_sided(alpha: float) -> float:
    """Normal quantile z with P(|Z| > z) = alpha."""
    return NormalDist().inv_cdf(1 - alpha / 2)


def bonferroni(alpha: float, tests: int) -> float:
    return alpha / max(tests, 1)


def mean_interval(samples: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coordinate mean and half-width of a simultaneous (Bonferroni) normal interval.

    samples: (n, k). Each of the k intervals gets alpha/k, so all k cover at once with
    probability ≥ 1 − alpha (asymptotically in n; checks use n ≥ 1024 draws)."""
    n = samples.shape[0]
    k = samples[0].numel()
    mean = samples.mean(0)
    se = samples.std(0, unbiased=True) / math.sqrt(n)
    return mean, z_two_sided(bonferroni(alpha, k)) * se
