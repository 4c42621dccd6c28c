"""Fitting the order of a remainder r(ρ) = C ρ^p + o(ρ^p) from a geometric sequence of ρ.

Remainders of analytic expansions have integer orders, so the decision compares the local order
estimate at the smallest ρ with the claimed order using a margin of one half: an order one short
of the claim (the usual way an expansion is wrong) is then told apart from the claimed one."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class OrderFit:
    rhos: list[float]
    remainders: list[float]
    local_orders: list[float]
    slope: float | None
    decided: bool
    reaches: bool | None
    note: str


def local_orders(rhos: list[float], rems: list[float]) -> list[float]:
    out = []
    for (r0, e0), (r1, e1) in zip(zip(rhos, rems), zip(rhos[1:], rems[1:])):
        out.append(math.log(e0 / e1) / math.log(r0 / r1) if e0 > 0 and e1 > 0 else math.nan)
    return out


def fit_order(rhos: list[float], rems: list[float], claimed: float, floor: float = 0.0) -> OrderFit:
    """Decide whether |r(ρ)| = O(ρ^claimed).

    floor: the largest |r| that numerical error alone could produce; remainders at or below it
    are treated as zero. A remainder that is zero at every ρ satisfies any order."""
    rems = [abs(e) for e in rems]
    live = [(r, e) for r, e in zip(rhos, rems) if e > floor]
    if not live:
        return OrderFit(rhos, rems, [], None, True, True, "remainder vanishes to working precision")
    if len(live) < 3:
        return OrderFit(rhos, rems, [], None, False, None, "too few ρ above the precision floor")
    lr, le = zip(*live)
    lo = local_orders(list(lr), list(le))
    xs = [math.log(r) for r in lr]
    ys = [math.log(e) for e in le]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    tail = [o for o in lo[-3:] if not math.isnan(o)]
    if len(tail) < 2 or max(tail) - min(tail) > 0.25:
        return OrderFit(rhos, rems, lo, slope, False, None, "local order has not settled; use smaller ρ")
    est = tail[-1]
    return OrderFit(rhos, rems, lo, slope, True, est >= claimed - 0.5, f"local order {est:.3f} at ρ={lr[-1]:.3g}")
