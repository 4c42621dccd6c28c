r"""dexter2024.def1 — linearized SGD as Definition 1 defines it (§2, p. 3), read back from its steps.

    Definition 1: "w_{t+1} = (I − (η/B) Σ_{i∈S} H_i) w_t, (1) where i ∈ S with probability B/n and the
    event i ∈ S is independent from the event j ∈ S for all i ≠ j." Theorem 1 takes "a sequence of
    i.i.d. copies of Ĵ": a fresh S at every step. §2's SGD, which the §5 experiments run as well
    (`sampling="without_replacement"`): "S is uniformly sampled from all B sized subsets of [n]".

What a step of a user's class did is read where it evaluates the loss: it calls `closure(index=S)`
(`flatcheck.impl.jacobians.batch_reads`), so each step's S is seen, and from W = I its result is Ĵ
itself. Optimizers seeded apart step, every step from W = I: fresh ones (2 quick, 4 default, 8
thorough) T steps (32, 64, 128) under each sampling with W handed over as one matrix, as the columns
of one param group, and as a param group per column; and 1, 2, 4 for 600 + T steps under the
instance's sampling and layout (a pool of batches, an epoch loop, a law switched after a warm-up). Then:
- one S: every evaluation of a step with an index (a loss of the whole set logged where the step went
  aside) asks for one and the same set of distinct examples in range — eq. (1) has one S for all of
  w (a batch per param group or per tensor is not);
- update: the step's result is I − (η/B)Σ_{i∈S}H_i for the S it evaluated, to the round-off of a
  float32 reduction (16(d + |S| + 4)·u₃₂ of its scale) — 1/|S| for 1/B, η off, a param group left out;
- the law of S, four exact tests over all steps of each sampling, at α/8 each: examples (i ∈ S in
  Binomial(N, B/n) of the N steps, per example, Bonferroni: an example never drawn, B/n off); pairs
  (i, j ∈ S together in Binomial(N, q), q = (B/n)² for Bernoulli, B(B−1)/(n(n−1)) for a uniform B-subset, per pair: a
  fixed-size batch where Bernoulli is asked, examples drawn together); fresh (disjoint pairs of
  consecutive steps share |S_t ∩ S_{t+1}| examples, i.i.d. Binomial(n, (B/n)²) — an exact binomial
  test of the sum — or hypergeometric(n, B, B) — Hoeffding's bound for the sum: a batch kept for
  several steps, an epoch walked through one permutation); repeats (S_t = S_{t+L} exactly, over
  disjoint pairs of steps at lag L, with probability (p² + (1−p)²)ⁿ or 1/C(n, B), for lags L from 1 to
  256, Bonferroni: a pool of batches cycled, one permutation never reshuffled). A uniform B-subset
  has B distinct examples every step (B drawn with replacement, or a Bernoulli batch, do not).
Chains whose batches are all alike (a generator of the class's own, seeded with a constant) are
counted once. A class that evaluates no indexed batch is undecided here.
Declared constants: the coefficient of B/n in P(i ∈ S) and of η/B in (1), each moved ×2.
No symbolic part: (1) is checked per step exactly given S, and S's law by exact tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.algorithms.sampling import SAMPLINGS
from flatcheck.impl.jacobians import LINEAR_LAYOUTS, StepRead, batch_reads
from flatcheck.problems.dexter_families import LinearSGDInstance, diagonal_families, psd_families, sgd_instances
from flatcheck.stats.binomial import hoeffding_p
from flatcheck.stats.coins import binomial_p
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (
    Constant("inclusion", 1.0, "B/n in P(i ∈ S)", "exact", text="the inclusion probability"),
    Constant("step", 1.0, "η/B in (1)", "exact", text="the step's scale"),
)


@dataclass(frozen=True)
class Def1Instance:
    """A family, η and B (`LinearSGDInstance`), and the sampling and layout of W of the long runs."""

    sgd: LinearSGDInstance
    sampling: str
    layout: str

    def describe(self) -> dict[str, Any]:
        return {**self.sgd.describe(), "sampling": self.sampling, "layout": self.layout}


def instances() -> st.SearchStrategy[Def1Instance]:
    """Small families, n ≤ 8: the loss does not enter S; d ∈ {2, 3} gives the layouts two or three
    tensors (d = 1 would hand every layout one)."""
    fams = (diagonal_families(max_n=8, max_d=3) | psd_families(max_n=8, max_d=3)).filter(lambda f: f.d >= 2)
    return st.builds(
        Def1Instance,
        sgd_instances(fams),
        st.sampled_from(SAMPLINGS),
        st.sampled_from(LINEAR_LAYOUTS),
    )


def _one_batch(read: StepRead, n: int) -> tuple[torch.Tensor | None, str]:
    """The step's S as a mask (n,), or None and what is wrong: evaluations without an index (L), and
    of the whole set at the step's end (a loss logged after the update), are left out; the rest must
    ask for one set of examples in range."""
    every = list(range(n))
    sets = []
    for index, w in read.calls:
        if index is None or (torch.equal(w, read.after) and sorted(index.tolist()) == every):
            continue
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
            return None, f"asked for example(s) {sorted(set(index.tolist()))} of 0…{n - 1}"
        sets.append(index)
    if not sets:
        return None, "unread"
    keys = {tuple(sorted(s.tolist())) for s in sets}
    if len(keys) > 1:
        return None, f"evaluated {len(keys)} different mini-batches in one step: {sorted(keys)[:3]}"
    mask = torch.zeros(n, dtype=torch.bool)
    mask[sets[0]] = True
    return mask, "" if sets[0].numel() == int(mask.sum()) else f"repeated examples in S = {sets[0].tolist()}"


def _update_error(inst: LinearSGDInstance, mask: torch.Tensor, after: torch.Tensor, step: float) -> tuple[float, float]:
    """(max |W − (I − s(η/B)Σ_{i∈S}H_i)|, its tolerance) for one step from W = I; s = `step`."""
    hs, d = inst.fam.hs, inst.fam.d
    rate = step * float(inst.lr) / inst.batch
    expected = torch.eye(d, dtype=torch.float64) - rate * hs[mask].sum(0)
    scale = 1.0 + rate * float(hs[mask].abs().sum(0).max()) if mask.any() else 1.0
    u32 = torch.finfo(torch.float32).eps / 2
    return float((after - expected).abs().max()), 16 * (d + 4 + int(mask.sum())) * u32 * scale


def law_tests(
    chains: list[torch.Tensor], batch: float, sampling: str, alpha: float
) -> list[tuple[str, float, float, dict[str, Any]]]:
    """The four tests of the docstring on the batches of independent chains, each (steps, n) bool
    (runs of any length); (name, p-value, level, values) each."""
    n = chains[0].shape[-1]
    p = min(batch / n, 1.0)
    flat = torch.cat(chains).long()
    count = flat.shape[0]
    out = []
    ps = [(binomial_p(int(flat[:, i].sum()), count, p), i) for i in range(n)]
    worst, i = min(ps)
    out.append(("examples", worst, alpha / 4 / n, {"example": i, "in_S": int(flat[:, i].sum()), "steps": count}))
    if n > 1:
        if sampling == "bernoulli":
            q = p * p
        else:
            q = batch * (batch - 1) / (n * (n - 1)) if p < 1 else 1.0
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
        ps = [(binomial_p(int((flat[:, a] * flat[:, b]).sum()), count, q), (a, b)) for a, b in pairs]
        worst, ab = min(ps)
        both = int((flat[:, ab[0]] * flat[:, ab[1]]).sum())
        out.append(("pairs", worst, alpha / 4 / len(pairs), {"pair": ab, "together": both, "steps": count}))
    # |S_t ∩ S_{t+1}| over disjoint pairs of consecutive steps (t even): independent across pairs.
    shared = torch.cat([(x[0 : len(x) - 1 : 2].long() * x[1::2].long()).sum(-1) for x in chains])
    m = shared.numel()
    if sampling == "bernoulli":
        fresh = binomial_p(int(shared.sum()), m * n, p * p)
    else:
        fresh = hoeffding_p(float(shared.sum()), m, batch * p, float(batch))
    out.append(("fresh", fresh, alpha / 4, {"shared": int(shared.sum()), "expected": m * n * p * p, "step_pairs": m}))
    out.append(repeats_test(chains, batch, sampling, alpha / 4))
    return out


# The lags at which a batch repeated exactly is looked for: a pool of batches cycled, a batch reused
# every L-th step, one permutation walked through in order (period n/B).
LAGS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256)


def repeats_test(
    chains: list[torch.Tensor], batch: float, sampling: str, alpha: float
) -> tuple[str, float, float, dict[str, Any]]:
    """S_t = S_{t+L} exactly, over disjoint pairs of steps at lag L (t in the first half of each block of
    2L steps): Binomial(pairs, r) with r = Π_i (p² + (1 − p)²) = (p² + (1 − p)²)^n (Bernoulli) or
    1/C(n, B) (a uniform B-subset), per lag, the lags Bonferroni."""
    n = chains[0].shape[-1]
    p = min(batch / n, 1.0)
    r = (p * p + (1 - p) ** 2) ** n if sampling == "bernoulli" else 1 / math.comb(n, min(round(batch), n))
    lags = [lag for lag in LAGS if 2 * lag <= max(len(x) for x in chains)]
    worst = (1.0, 0, 0, 0)
    for lag in lags:
        k = m = 0
        for x in chains:
            blocks = x[: len(x) - len(x) % (2 * lag)].reshape(-1, 2, lag, n)
            same = (blocks[:, 0] == blocks[:, 1]).all(-1)
            k, m = k + int(same.sum()), m + same.numel()
        worst = min(worst, (binomial_p(k, m, r), lag, k, m))
    level = alpha / max(len(lags), 1)
    return (
        "repeats",
        worst[0],
        level,
        {"lag": worst[1], "repeated": worst[2], "step_pairs": worst[3], "expected_rate": r},
    )


# Every instance reads fresh optimizers under each sampling in each layout (a batch drawn per tensor
# or per param group shows only in its own layout, a defect of one sampling only under it), and runs
# LATE steps longer under the instance's sampling and layout (a pool of batches, an epoch loop or a
# law switched after a warm-up); how many of each by profile.
LATE = 600


def check(inst: Def1Instance, impl: Any, budget: Any) -> Evidence:
    sgd, fam = inst.sgd, inst.sgd.fam
    steps = budget.scaled(32, 64, 128)
    inclusion, step = constant(budget, CONSTANTS, "inclusion"), constant(budget, CONSTANTS, "step")
    fresh, long = budget.scaled(2, 4, 8), budget.scaled(1, 2, 4)
    runs = [(layout, sampling, fresh, steps) for sampling in SAMPLINGS for layout in LINEAR_LAYOUTS]
    runs.append((inst.layout, inst.sampling, long, LATE + steps))
    values: dict[str, Any] = {"runs": [f"{c} × {t} steps ({layout}, {sampling})" for layout, sampling, c, t in runs]}
    masks: dict[str, list[torch.Tensor]] = {sampling: [] for sampling in SAMPLINGS}
    seen = set()
    worst = (0.0, 1.0, None)
    for j, (layout, sampling, chains, length) in enumerate(runs):
        # Each run's chains seeded apart from the others': their batches are more data, not copies.
        reads = batch_reads(impl, fam, sgd.hp(sampling), chains, length, budget.seed + 7919 * j, layout)
        for c, chain in enumerate(reads):
            rows = []
            for t, read in enumerate(chain):
                mask, wrong = _one_batch(read, fam.n)
                where = f"step {t + 1} of chain {c} ({layout}, {sampling})"
                if wrong == "unread":
                    note = f"{where} evaluated no mini-batch closure(index=S): S cannot be read"
                    return Evidence(None, values, note=note)
                if mask is None or wrong:
                    return Evidence(False, {**values, "at": where}, note=f"{where} {wrong}")
                if sampling == "without_replacement" and int(mask.sum()) != sgd.batch:
                    drew = mask.nonzero().flatten().tolist()
                    note = f"{where} drew |S| = {len(drew)} where a uniform subset of B = {sgd.batch} is asked"
                    return Evidence(False, {**values, "at": where, "S": drew}, note=note)
                off, tol = _update_error(sgd, mask, read.after, step)
                if off / tol > worst[0] / worst[1]:
                    worst = (off, tol, where)
                rows.append(mask)
            key = (sampling, tuple(tuple(m.nonzero().flatten().tolist()) for m in rows))
            if key not in seen:  # chains whose batches are all alike are one chain
                seen.add(key)
                masks[sampling].append(torch.stack(rows))
    values |= {"update_error": worst[0], "update_tolerance": worst[1]}
    if worst[0] > worst[1]:
        return Evidence(
            False,
            {**values, "at": worst[2]},
            note=f"at {worst[2]} the step is not I − (η/B)Σ_{{i∈S}}H_i for the S it evaluated "
            f"(off by {worst[0]:.3g} > {worst[1]:.2g})",
        )
    tests = [
        (f"{name} ({sampling})", p, level, v)
        for sampling, chains in masks.items()
        for name, p, level, v in law_tests(chains, sgd.batch * inclusion, sampling, budget.alpha / len(masks))
    ]
    return Evidence.tests(tests, "the mini-batches S", **values)


CLAIM = Claim(
    id="dexter2024.def1",
    paper="dexter2024",
    ref="Definition 1, eq. (1), §2, p. 3; Theorem 1 (i.i.d. copies of Ĵ)",
    kind="expectation",
    statement=r"w_{t+1}=\Big(I-\frac\eta B\sum_{i\in S}H_i\Big)w_t,\ \ \Pr[i\in S]=\frac Bn"
    r"\text{ independently over }i\text{, a fresh }S\text{ at every step}",
    summary="Linearized SGD read back from its steps: one S per step, eq. (1) given S, and S drawn "
    "i.i.d. as Definition 1 (or §2's uniform B-subset) says.",
    faithful="exact",
    algorithm="linsgd",
    constants=CONSTANTS,
    instances=lambda budget: instances(),
    describe=Def1Instance.describe,
    check=check,
)
