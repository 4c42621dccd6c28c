"""The sequential Monte Carlo decision of flatcheck.stats.sequential on simulated streams.

The worst stopping rule for a confidence sequence is the adversary's: stop at the first look whose
interval excludes the true mean (every look's interval is then tested). Its miss rate over many
seeded streams is the sequence's uniform non-coverage; at α = 0.05 it must stay within α plus a
binomial allowance — where the per-look interval is itself valid at every n (Gaussian data under
the normal interval, symmetric heavy tails, and bounded data under the empirical Bernstein
interval: Bernoulli(1/12), the skewed U⁶). The same streams with the full α spent at every look
(no correction) miss far more often, so the test can fail.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from flatcheck.stats import bernstein_interval, mean_interval
from flatcheck.stats.sequential import MIN_LOOK, first_look, look_seed, look_sizes, sequential_interval, spend

ALPHA = 0.05
CAP, FIRST = 1024, 128  # four looks: 128, 256, 512, 1024
TRIALS = 4000
F64 = torch.float64
FLUKE = 1e-6  # chance that a correct sequence fails a rate test here by bad luck


def max_misses(trials: int, rate: float) -> int:
    """Largest miss count a rule with error rate ≤ rate reaches with probability ≥ 1 − FLUKE."""
    return int(stats.binom.isf(FLUKE, trials, rate))


def gaussian(g: torch.Generator, n: int) -> torch.Tensor:
    return torch.randn(n, generator=g, dtype=F64)


def student_t3(g: torch.Generator, n: int) -> torch.Tensor:
    """Student's t with 3 degrees of freedom (finite variance, heavy tails): Z / √(χ²₃/3)."""
    z = torch.randn(n, 4, generator=g, dtype=F64)
    return z[:, 0] / (z[:, 1:].pow(2).sum(-1) / 3).sqrt()


def bernoulli_12(g: torch.Generator, n: int) -> torch.Tensor:
    return (torch.rand(n, generator=g, dtype=F64) < 1 / 12).to(F64)


def uniform_power6(g: torch.Generator, n: int) -> torch.Tensor:
    """U⁶ for U uniform on [0, 1]: mean 1/7, most mass near 0 with a long tail to 1 (skewed)."""
    return torch.rand(n, generator=g, dtype=F64) ** 6


def bounded(x: torch.Tensor, a: float) -> tuple[torch.Tensor, torch.Tensor]:
    return bernstein_interval(x, 0.0, 1.0, a)


def adversarial_misses(law, mu: float, interval, trials: int = TRIALS) -> tuple[int, int]:
    """(streams whose stopped interval misses mu, streams stopped before the cap) when every
    stream stops at the first look excluding the true mean mu."""
    misses = early = 0
    for i in range(trials):
        g = torch.Generator().manual_seed(i)
        data = law(g, CAP)[:, None]
        sizes = look_sizes(CAP, FIRST)

        def draw(m: int, j: int, data=data, sizes=sizes) -> torch.Tensor:
            return data[sizes[j] - m : sizes[j]]

        res = sequential_interval(
            draw, CAP, ALPHA, lambda m, h, s: bool(((m - mu).abs() > h).any()), first=FIRST, interval=interval
        )
        misses += bool(((res.mean - mu).abs() > res.half).any())
        early += res.decided_early
    return misses, early


@pytest.mark.parametrize(
    "law, mu, interval",
    [
        (gaussian, 0.0, mean_interval),
        (student_t3, 0.0, mean_interval),
        (bernoulli_12, 1 / 12, bounded),
        (uniform_power6, 1 / 7, bounded),
    ],
    ids=["gaussian-normal", "t3-normal", "bernoulli12-bernstein", "u6-bernstein"],
)
def test_stopping_at_the_first_decisive_look_keeps_alpha(law, mu, interval):
    misses, _ = adversarial_misses(law, mu, interval)
    assert misses <= max_misses(TRIALS, ALPHA), (misses, TRIALS)


def test_no_spending_over_the_looks_breaks_alpha():
    """The full α at every look: the adversary's stopping then misses well above α (≈ 2α at four
    looks), which the test above would catch."""
    misses, early = adversarial_misses(gaussian, 0.0, lambda x, a: mean_interval(x, ALPHA))
    assert misses > max_misses(TRIALS, ALPHA) and early > 0, misses


def test_a_clear_case_stops_at_the_first_look():
    """A mean 10 standard errors of the first look away from the threshold is decided at once."""
    g = torch.Generator().manual_seed(0)
    drawn = []

    def draw(m: int, j: int) -> torch.Tensor:
        drawn.append(m)
        return (1.0 + torch.randn(m, 1, generator=g, dtype=F64)).clone()

    threshold = 1.0 - 10 / math.sqrt(FIRST)
    res = sequential_interval(draw, CAP, 1e-6, lambda m, h, s: bool((m - h > threshold).all()), first=FIRST)
    assert res.decided_early and res.draws == FIRST and drawn == [FIRST] and res.look == 1
    assert res.record() == {"draws_spent": FIRST, "draws_cap": CAP, "looks": 1, "looks_planned": 4}


def test_an_undecided_case_spends_exactly_the_cap():
    g = torch.Generator().manual_seed(1)
    drawn = []

    def draw(m: int, j: int) -> torch.Tensor:
        drawn.append(m)
        return torch.randn(m, 2, generator=g, dtype=F64)

    res = sequential_interval(draw, 1000, 1e-6, lambda m, h, s: False, first=128)
    assert sum(drawn) == res.draws == 1000 and res.samples.shape == (1000, 2) and not res.decided_early
    assert drawn == [128, 128, 256, 488] and math.isclose(res.alpha_look, 0.9e-6)


@pytest.mark.parametrize("cap, first", [(512, 128), (2048, 256), (1000, 128), (100, 128), (4096, 4096)])
def test_looks_never_exceed_the_cap_and_spend_alpha(cap, first):
    sizes = look_sizes(cap, first)
    assert sizes[-1] == cap and all(a < b for a, b in zip(sizes, sizes[1:])) and sizes[0] == min(first, cap)
    rates = spend(1e-3, len(sizes))
    assert math.isclose(sum(rates), 1e-3) and len(rates) == len(sizes)


def test_one_look_is_the_fixed_n_interval():
    """A batched check keeps one look at the cap: the same draws and interval as at fixed n."""
    assert first_look(4096, batched=True) == 4096 and look_sizes(4096, 4096) == [4096]
    assert first_look(512, batched=False) == MIN_LOOK and first_look(1 << 14, batched=False) == 1 << 11
    x = torch.randn(4096, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
    res = sequential_interval(lambda m, j: x, 4096, 1e-4, lambda m, h, s: True)
    mean, half = mean_interval(x, 1e-4)
    assert torch.equal(res.mean, mean) and torch.equal(res.half, half) and res.look == res.looks == 1


def test_look_seeds_are_distinct_and_keep_the_first():
    seeds = {look_seed(s, j) for s in range(4) for j in range(6)}
    assert look_seed(7, 0) == 7 and len(seeds) == 24
