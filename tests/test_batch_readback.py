"""dexter2024.def1: linearized SGD read back from its steps — each step's S from the closure's index, its
result against eq. (1) given S, and S's law by exact tests (theorems/dexter2024/def1.py,
flatcheck.impl.jacobians.batch_reads). The tests against batches drawn here exactly as Definition 1 and
§2 say (an oracle) and against batches that break it; the claim on correct classes written apart
(verified) and on classes whose sampling or update is wrong only across steps, only with several param
groups or only late in a run (falsified)."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import torch
from test_step_claims import user, verdict

from flatcheck.impl.builtin import builtin
from flatcheck.impl.jacobians import StepRead, batch_reads
from flatcheck.problems.dexter_families import LinearSGDInstance, identical, rational_at_least
from flatcheck.verify.profiles import budget_for

def1 = importlib.import_module("theorems.dexter2024.def1")

ALPHA = 1e-4


def bernoulli(chains: int, steps: int, n: int, b: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(chains, steps, n, generator=gen) < b / n


def subsets(chains: int, steps: int, n: int, b: int, gen: torch.Generator) -> torch.Tensor:
    ranks = torch.rand(chains, steps, n, generator=gen).argsort(-1).argsort(-1)
    return ranks < b


def failed(x: torch.Tensor, b: int, sampling: str) -> list[str]:
    return [name for name, p, level, _ in def1.law_tests(list(x), b, sampling, ALPHA) if p < level]


@pytest.mark.parametrize("seed", range(5))
def test_batches_drawn_as_definition_1_and_section_2_say_pass_every_test(seed):
    gen = torch.Generator().manual_seed(seed)
    assert failed(bernoulli(8, 200, 6, 2, gen), 2, "bernoulli") == []
    assert failed(subsets(8, 200, 6, 2, gen), 2, "without_replacement") == []


def test_batches_drawn_otherwise_fail_the_test_that_sees_it():
    gen = torch.Generator().manual_seed(0)
    n, b = 6, 2
    # A uniform subset where Bernoulli is asked: |S| never varies, pairs fall together too seldom.
    assert "pairs" in failed(subsets(8, 200, n, b, gen), b, "bernoulli")
    # Example n − 1 never drawn (randint(0, n − 1)).
    off = bernoulli(8, 200, n, b, gen)
    off[..., -1] = False
    assert "examples" in failed(off, b, "bernoulli")
    # An epoch loop: consecutive chunks of one permutation share no example.
    perms = torch.rand(8, 67, n, generator=gen).argsort(-1)
    epochs = torch.zeros(8, 67, 3, n, dtype=torch.bool)
    epochs.scatter_(-1, perms.reshape(8, 67, 3, 2), True)
    assert "fresh" in failed(epochs.reshape(8, 201, n)[:, :200], b, "without_replacement")
    # A pool of 4 batches cycled: S_t = S_{t+4}.
    pool = subsets(8, 4, n, b, gen)
    assert "repeats" in failed(pool.repeat(1, 50, 1), b, "without_replacement")


def test_one_batch_reads_one_set_and_leaves_a_logged_loss_out():
    eye, after = torch.eye(2, dtype=torch.float64), torch.diag(torch.tensor([0.5, 1.0], dtype=torch.float64))
    s = torch.tensor([2, 0])
    logged = StepRead([(None, eye), (s, eye), (s, eye), (torch.arange(3), after)], after)
    mask, wrong = def1._one_batch(logged, 3)
    assert wrong == "" and mask.tolist() == [True, False, True]
    two = StepRead([(s, eye), (torch.tensor([1]), 0.5 * eye)], after)
    assert def1._one_batch(two, 3)[0] is None and "2 different mini-batches" in def1._one_batch(two, 3)[1]
    assert def1._one_batch(StepRead([(None, eye)], after), 3) == (None, "unread")
    assert "repeated" in def1._one_batch(StepRead([(torch.tensor([1, 1]), eye)], after), 3)[1]


@pytest.mark.parametrize("layout", ["matrix", "columns", "groups"])
def test_the_builtins_steps_read_back_are_its_batches_and_eq_1(layout):
    fam = identical(5, 3)
    hp = {"lr": 0.3, "batch_size": 2, "n_examples": 5, "sampling": "bernoulli"}
    reads = batch_reads(builtin("linsgd"), fam, hp, 2, 20, 0, layout)
    eye = torch.eye(3, dtype=torch.float64)
    for read in (r for chain in reads for r in chain):
        (index, w), *_ = read.calls
        assert torch.equal(w, eye)
        expected = eye - 0.3 / 2 * fam.hs[index].sum(0)
        assert torch.allclose(read.after, expected, atol=1e-15, rtol=0)


@pytest.mark.parametrize(
    "path",
    [
        "unseen_linsgd:LoopLinSGD",
        "unseen_linsgd:InitialSeedLinSGD",
    ],
)
def test_correct_linsgds_verified(path):
    res = verdict("dexter2024.def1", user(path, "linsgd"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


@pytest.mark.parametrize(
    "path",
    [
        "unseen_linsgd:FixedBatchOrderLinSGD",  # one permutation walked in order: S_t repeats every n/B steps
        "unseen_linsgd:EpochLinSGD",  # a permutation per epoch: consecutive batches disjoint
        "unseen_linsgd:BatchPerGroupLinSGD",  # a batch per param group: several S in one step
        "unseen_linsgd:WithReplacementLinSGD",  # B draws with replacement: repeated examples
        "unseen_linsgd:BatchMeanLinSGD",  # 1/|S| for 1/B: (1) off
        "broken_linsgd:FixedBatchLinSGD",  # |S| = B where Bernoulli is asked
    ],
)
def test_linsgds_sampling_or_stepping_otherwise_falsified(path):
    res = verdict("dexter2024.def1", user(path, "linsgd"))
    assert res.verdict == "falsified", (res.reason, res.traceback)


def test_a_pool_of_batches_cycled_after_100_steps_shows_in_every_instance():
    inst = LinearSGDInstance(identical(4, 2), rational_at_least(0.1), 2)
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-7)
    impl = user("unseen_linsgd:PooledLinSGD", "linsgd")
    for sampling in ("bernoulli", "without_replacement"):
        ev = def1.check(def1.Def1Instance(inst, sampling, "matrix"), impl, budget)
        assert ev.holds is False and "repeats" in ev.note, ev.values


@pytest.mark.parametrize("sampling", ["bernoulli", "without_replacement"])
def test_def1_with_a_mutated_constant_falsified_on_the_builtin(sampling):
    """Each declared constant moved ×2 (what `flatcheck mutate` does), on one instance: B/n → 2B/n fails
    the law's tests, η/B → 2η/B eq. (1); unmoved, the same instance holds."""
    inst = def1.Def1Instance(LinearSGDInstance(identical(6, 2), rational_at_least(0.2), 2), sampling, "columns")
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-7)
    assert def1.check(inst, builtin("linsgd"), budget).holds
    for c in def1.CONSTANTS:
        moved = dataclasses.replace(budget, constants={c.name: c.mutated()})
        assert def1.check(inst, builtin("linsgd"), moved).holds is False, c.name
