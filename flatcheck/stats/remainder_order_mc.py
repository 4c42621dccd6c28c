"""The order of a remainder known only through Monte Carlo means with confidence intervals.

At levels s₀ > s₁ > … the remainder's mean m_j is estimated with a half-width h_j (all intervals
holding together at the stated error rate). Between the two smallest levels at which the mean is
resolved (|m_j| > 2h_j) the local order log(m_i/m_j)/log(s_i/s_j) lies in an interval computed
from the endpoints. Decision rule: the claim r = O(s^p) is *falsified* when the upper end of that
interval is below p (the remainder shrinks confidently slower than claimed), *holds* when its
lower end reaches p, and is undecided when the interval contains p (a claimed order above the true
one is then never accepted on the strength of a wide interval) or fewer than two levels are resolved.
"""

from __future__ import annotations

import math

from flatcheck.stats.remainder_order import OrderFit, local_orders


def mc_order(levels: list[float], means: list[float], halfwidths: list[float], claimed: float) -> OrderFit:
    mags = [abs(m) for m in means]
    resolved = [j for j, (m, h) in enumerate(zip(mags, halfwidths)) if m > 2 * h]
    lo = local_orders(levels, mags)
    if len(resolved) < 2:
        return OrderFit(levels, mags, lo, None, False, None, "the remainder is within Monte Carlo error of zero")
    i, j = resolved[-2], resolved[-1]
    scale = math.log(levels[i] / levels[j])
    upper = math.log((mags[i] + halfwidths[i]) / (mags[j] - halfwidths[j])) / scale
    lower = math.log((mags[i] - halfwidths[i]) / (mags[j] + halfwidths[j])) / scale
    note = f"local order in [{lower:.3f}, {upper:.3f}] between s={levels[i]:.3g} and s={levels[j]:.3g}"
    if lower < claimed <= upper:
        return OrderFit(levels, mags, lo, upper, False, None, f"{note} contains the claimed {claimed:g}: undecided")
    return OrderFit(levels, mags, lo, upper, True, lower >= claimed, note)
