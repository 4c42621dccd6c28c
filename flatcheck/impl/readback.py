"""Draws read back from where a step evaluated the loss (`Implementation.path(..., points=True)`).

A step that perturbs its parameters before evaluating the loss shows what it drew in the points the
closure saw, even where the step it then takes does not (NSO's pairs on a quadratic): NSO evaluates
at W ± U_j, WP-SGD at W + U, RSP at x + ρg. Points at the step's start itself (a loss logged before
perturbing) and at its end (a loss logged after the update) are not draws.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from flatcheck.impl.protocol import ITERATION, Implementation
from flatcheck.problems import Problem

# Round-off allowed in W + U + (W − U) = 2W, in units of the points' dtype epsilon times their
# magnitude: a class may reach W − U as (W + U) − 2U.
ROUNDOFF = 1024


def drawn(
    points: torch.Tensor, w: torch.Tensor, count: int, pairs: bool, end: torch.Tensor | None = None
) -> torch.Tensor | None:
    """The `count` perturbations (count, d) a step from w drew, read from the points (m, d) it
    evaluated the loss at: pairs W ± U (NSO; U oriented as the first of the pair evaluated) or single
    points W + U (WP-SGD); None where the points are not that. Points at W, and at `end` (where the
    step went: a loss logged after the update), are left out; repeated
    points are read as one where, and only where, reading them all gives more than `count` draws (a
    class evaluating twice; a discrete P draws the same U twice)."""
    tol = ROUNDOFF * torch.finfo(points.dtype).eps * (1 + float(points.abs().max()) + float(w.abs().max()))
    ends = [w] if end is None else [w, end]
    rows = [p for p in points if all(float((p - e).abs().max()) > tol for e in ends)]
    got = _read(rows, w, pairs, tol)
    if got is not None and len(got) > count:
        unique: list[torch.Tensor] = []
        for p in rows:
            if all(float((p - q).abs().max()) > tol for q in unique):
                unique.append(p)
        got = _read(unique, w, pairs, tol)
    return torch.stack(got) if got is not None and len(got) == count else None


def _read(rows: list[torch.Tensor], w: torch.Tensor, pairs: bool, tol: float) -> list[torch.Tensor] | None:
    if not pairs:
        return [p - w for p in rows]
    us, used = [], [False] * len(rows)
    for i, p in enumerate(rows):
        if used[i]:
            continue
        mate = next(
            (j for j in range(i + 1, len(rows)) if not used[j] and float((p + rows[j] - 2 * w).abs().max()) <= tol),
            None,
        )
        if mate is None:
            return None
        used[i] = used[mate] = True
        us.append((p - rows[mate]) / 2)
    return us


def read_draws(path: Any, count: int, pairs: bool) -> tuple[torch.Tensor, str | None]:
    """Every step's draws (chains, steps, count, d) of a run kept with its points; or an empty
    tensor and the reason they cannot be read."""
    chains = []
    for i in range(path.x.shape[0]):
        steps = []
        for t, pts in enumerate(path.points):
            u = drawn(pts[i].double(), path.x[i, t].double(), count, pairs, end=path.x[i, t + 1].double())
            if u is None:
                away = int(((pts[i] - path.x[i, t]).abs().amax(-1) > 0).sum())
                shape = f"{count} pair(s) W ± U" if pairs else "one point W + U"
                return torch.empty(0), (
                    f"step {t + 1} of chain {i} evaluated the loss at {pts[i].shape[0]} point(s), {away} of them "
                    f"away from W, not at {shape}: the draws cannot be read from them"
                )
            steps.append(u)
        chains.append(torch.stack(steps))
    return torch.stack(chains), None


def run_draws(
    impl: Implementation,
    problem: Problem,
    x: torch.Tensor,
    hp: dict[str, Any],
    n: int,
    seed: int,
    steps: int,
    count: int,
    pairs: bool,
) -> tuple[torch.Tensor, float, str | None]:
    """n chains from the point x (d,), `steps` steps each, and the draws their steps made (`read_draws`):
    (draws (n, steps, count, d) on the CPU, the largest coordinate the run reached — the scale of the
    read-back's round-off —, why they cannot be read, or None). flatcheck's built-in steps batched,
    without a closure: its optimizer class, which is what draws, is run instead."""
    run = dataclasses.replace(impl, batched_step=None) if impl.batched_step is not None else impl
    path = run.path(problem, x.expand(n, -1).clone(), hp, seed, steps, points=True)
    draws, unread = read_draws(path, count, pairs)
    return draws.cpu(), float(path.x.abs().max()), unread


def repeated(draws: torch.Tensor, tol: float) -> tuple[int, int] | None:
    """The first pair (a, b), a < b, of draws (m, d) equal up to their sign to within `tol` in every
    coordinate, else None. A law with a density draws no two alike (probability 0): a bank of draws
    cycled, or a draw kept and used again many steps later, does."""
    flat = draws.reshape(len(draws), -1).double()
    for sign in (1.0, -1.0):
        hits = torch.triu(torch.cdist(flat, sign * flat, p=float("inf")) <= tol, diagonal=1).nonzero()
        if len(hits):
            return int(hits[0, 0]), int(hits[0, 1])
    return None


def run_repeats(
    impl: Implementation,
    problem: Problem,
    x: torch.Tensor,
    hp: dict[str, Any],
    seed: int,
    steps: int,
    count: int,
    pairs: bool,
) -> tuple[dict[str, Any], str | None]:
    """One fresh optimizer (hp's iteration set to 0) taking `steps` steps from x (d,), its draws read
    (`run_draws`) and searched for two alike up to sign (`repeated`): ({"steps": steps, "repeated":
    the two draws' (step, j) or None}, why they cannot be read, or None)."""
    u, reach, unread = run_draws(impl, problem, x, {**hp, ITERATION: 0}, 1, seed, steps, count, pairs)
    if unread:
        return {"steps": steps}, unread
    tol = 4 * ROUNDOFF * torch.finfo(torch.float64).eps * (1 + reach)
    hit = repeated(u[0].reshape(steps * count, -1), tol)
    pair = None if hit is None else [divmod(i, count) for i in hit]
    return {"steps": steps, "repeated": pair, "tolerance": tol}, None
