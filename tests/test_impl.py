"""The protocol for a user's implementation, and the step claims: verified on flatcheck's own and on
independent correct implementations (pytorch-optimizer's SAM included), falsified on broken ones,
and one clear ProtocolError / NonFiniteError for an object that does not follow the protocol."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
import torch

from flatcheck.cli import main
from flatcheck.errors import FlatcheckError, NonFiniteError, ProtocolError
from flatcheck.impl import BUILTINS, Implementation, builtin, infer_algorithm, kinds_for
from flatcheck.problems import PointInstance, example1
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get
from flatcheck.verify.runner import run_claim

STEP_CLAIMS = {
    "wen2023.sam_step": "sam",
    "wen2023.sam_stochastic_step": "sam_stochastic",
    "wen2023.ascent_step": "ascent_gd",
    "ahn2024.sap_step": "sap",
    "nso.alg1_step": "nso",
    "nso.wp_step": "wp_sgd",
}


def user(path: str, kind: str, **kwargs) -> Implementation:
    import importlib

    module, _, name = path.partition(":")
    return Implementation(path, kind, getattr(importlib.import_module(module), name), kwargs=kwargs)


def verdict(claim_id: str, impl: Implementation, time_limit_s: float | None = None):
    """The quick verdict, a counterexample unshrunk (test_slice tests the shrinking)."""
    budget = dataclasses.replace(budget_for("quick", time_limit_s=time_limit_s), shrink_checks=0)
    return run_claim(get(claim_id), budget, impl=impl, catalog_size=60)


@pytest.mark.parametrize(
    "path, claim_id",
    [
        ("broken_sam:ReferenceSAM", "wen2023.sam_stochastic_step"),
        ("broken_sap:ReferenceSAP", "ahn2024.sap_step"),
        ("broken_nso:ReferenceNSO", "nso.alg1_step"),
    ],
)
def test_independent_user_implementations_verified(path, claim_id):
    res = verdict(claim_id, user(path, STEP_CLAIMS[claim_id]))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


def test_a_users_nso_runs_the_reproduction_on_a_problem_without_examples():
    """nso.sec3_1 trains on matrix sensing, a problem given without example losses (its oracle draws
    its own noise): a user's class gets the claim's expected verdict there, not an error."""
    res = verdict("nso.sec3_1", user("broken_nso:ReferenceNSO", "nso"))
    assert res.verdict == get("nso.sec3_1").expected.verdict, (res.reason, res.traceback)


@pytest.mark.parametrize(
    "path, claim_id",
    [
        ("broken_sam:UnnormalisedSAM", "wen2023.sam_step"),
        ("broken_sam:PerParameterNormSAM", "wen2023.sam_step"),
        ("broken_sam:NoZeroSAM", "wen2023.sam_step"),
        ("broken_sam:WrongSignSAM", "wen2023.sam_stochastic_step"),
        ("broken_sap:NoSignSAP", "ahn2024.sap_step"),
        ("broken_sap:FullBatchOuterSAP", "ahn2024.sap_step"),
        ("broken_nso:OnePointNSO", "nso.alg1_step"),
        ("broken_nso:OverScaledNSO", "nso.alg1_step"),
    ],
)
def test_broken_implementations_falsified(path, claim_id):
    # A short limit: the counterexample is found on an early instance.
    res = verdict(claim_id, user(path, STEP_CLAIMS[claim_id]), time_limit_s=5)
    assert res.verdict == "falsified", (res.reason, res.traceback)
    assert res.counterexample["holds"] is False
    assert f"flatcheck check {path}" in res.replay


@pytest.mark.slow
@pytest.mark.parametrize("path", ["broken_nso:HalfNormalNSO", "broken_nso:FixedNoiseNSO"])
def test_broken_nso_noise_falsified(path):
    # These show only off quadratics (the two-point step is noise-free on a quadratic): a longer limit,
    # to reach a non-quadratic instance.
    res = verdict("nso.alg1_step", user(path, "nso"), time_limit_s=15)
    assert res.verdict == "falsified", (res.reason, res.traceback)
    assert res.counterexample["holds"] is False
    assert f"flatcheck check {path}" in res.replay


def check_at(claim_id: str, impl: Implementation, x: list, **scalars):
    """One instance of a claim checked directly (deterministic, no search)."""
    inst = PointInstance(example1(), [sp.Rational(v) for v in x], scalars=scalars)
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-6, seed=5)
    return get(claim_id).check(inst, impl, budget)


def test_sam_is_not_gradient_descent_on_l_asc():
    """wen2023's point, as a broken 'GD on L^asc': SAM's step drops the normalisation's derivative."""
    sam_as_ascent = dataclasses.replace(builtin("sam"), name="sam-as-ascent", algorithm="ascent_gd", builtin=False)
    assert check_at("wen2023.ascent_step", builtin("ascent_gd"), ["1/2", "3/2"], lr=0.25, rho=0.5).holds
    assert check_at("wen2023.ascent_step", sam_as_ascent, ["1/2", "3/2"], lr=0.25, rho=0.5).holds is False


def test_two_point_noise_is_not_wp_sgd():
    """NSO's two-point step has a smaller variance than WP-SGD's one-point step: nso.wp_step tells them apart."""
    nso_as_wp = dataclasses.replace(builtin("nso"), name="nso-as-wp", algorithm="wp_sgd", builtin=False)
    assert check_at("nso.wp_step", builtin("wp_sgd"), ["1/2", "3/2"], lr=2**-6, sigma=0.25).holds
    ev = check_at("nso.wp_step", nso_as_wp, ["1/2", "3/2"], lr=2**-6, sigma=0.25)
    assert ev.holds is False and "variance" in ev.note


def test_pytorch_optimizer_sam_follows_the_protocol():
    """The real third-party SAM (pytorch-optimizer) is driven through davda54's protocol; at float64
    its step agrees with (3) only to float32 precision (it sums the global gradient norm in float32),
    which wen2023.sam_step accepts under its error model and names as float32-level agreement."""
    sam = user("pytorch_optimizer:SAM", "sam", perturb_eps=0.0)
    x = torch.tensor([[0.5, 1.5], [-1.0, 0.25]], dtype=torch.float64)
    hp = {"lr": 0.1, "rho": 0.05}
    ours = builtin("sam").step_many(example1(), x, hp, 0)
    theirs = sam.step_many(example1(), x, hp, 0)
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert not torch.equal(ours, theirs)
    ev = check_at("wen2023.sam_step", sam, ["1/2", "1/2"], lr=1.0, rho=1.0)
    assert ev.holds is True and "float32" in ev.note


class NoClosure(torch.optim.Optimizer):
    def __init__(self, params, lr, **hyper):
        super().__init__(params, {"lr": lr})

    def step(self):
        return None


class ReturnsNone(torch.optim.SGD):
    def step(self, closure):
        super().step(closure)


class ChangesShape(torch.optim.SGD):
    def step(self, closure):
        loss = closure()
        for p in self.param_groups[0]["params"]:
            p.data = torch.cat([p.data.reshape(-1), p.data.reshape(-1)])
        return loss


class ProducesNaN(torch.optim.SGD):
    def step(self, closure):
        loss = closure()
        with torch.no_grad():
            for p in self.param_groups[0]["params"]:
                p.fill_(float("nan"))
        return loss


class NeverCallsClosure(torch.optim.SGD):
    def step(self, closure=None):
        return torch.zeros(())


@pytest.mark.parametrize(
    "cls, kind, error, message",
    [
        (NoClosure, "nso", ProtocolError, "step\\(closure\\) failed"),
        (ReturnsNone, "gd", ProtocolError, "returned None"),
        (ChangesShape, "gd", ProtocolError, "changed the parameter shape"),
        (ProducesNaN, "gd", NonFiniteError, "NaN or inf"),
        (NeverCallsClosure, "gd", ProtocolError, "never called the closure"),
        (torch.optim.SGD, "sam", ProtocolError, "davda54"),
    ],
)
def test_protocol_violations_get_one_clear_message(cls, kind, error, message):
    impl = Implementation(f"tests:{cls.__name__}", kind, cls)
    x = torch.tensor([[0.5, 1.5]], dtype=torch.float64)
    with pytest.raises(error, match=message):
        hp = {"gd": {"lr": 0.1}, "sam": {"lr": 0.1, "rho": 0.1}, "nso": {"lr": 0.1, "sigma": 0.1}}[kind]
        impl.step_many(example1(), x, hp, 0)


def test_protocol_violation_is_an_error_verdict_never_a_falsification():
    res = verdict("wen2023.sam_step", Implementation("tests:ProducesNaN", "sam", ProducesNaN))
    assert res.verdict == "error"


def test_user_path_replays_the_harness_examples():
    """The harness draws the example of each chain first, for built-in and user classes alike."""
    from flatcheck.impl import step_examples
    from flatcheck.problems import wen_toy

    prob = wen_toy()
    x = torch.tensor([0.3, 0.6, 0.5, -0.4], dtype=torch.float64).expand(6, -1).clone()
    hp = {"lr": 0.1, "rho": 0.05}
    ours = builtin("sam_stochastic").step_many(prob, x, hp, 11)
    theirs = user("broken_sam:ReferenceSAM", "sam_stochastic").step_many(prob, x, hp, 11)
    assert torch.allclose(ours, theirs, atol=1e-13)
    assert len(set(step_examples(prob, 6, 11).tolist())) == 2


def test_run_many_gives_paths():
    path = builtin("gd").run_many(example1(), torch.tensor([[0.5, 1.5]], dtype=torch.float64), {"lr": 0.01}, 0, 3)
    assert path.shape == (1, 4, 2)
    mine = user("torch.optim:SGD", "gd").run_many(example1(), path[:, 0], {"lr": 0.01}, 0, 3)
    assert torch.allclose(path, mine, atol=1e-14)


@pytest.mark.parametrize(
    "name, kind",
    [("SAM", "sam"), ("SGD", "sgd"), ("WPSGD", "wp_sgd"), ("AscentGD", "ascent_gd"), ("ReferenceNSO", "nso")],
)
def test_algorithm_inference(name, kind):
    assert infer_algorithm(name, list(BUILTINS)) == kind


def test_inference_and_families_fail_clearly():
    with pytest.raises(FlatcheckError, match="--algorithm"):
        infer_algorithm("Adam", list(BUILTINS))
    with pytest.raises(FlatcheckError, match="unknown algorithm"):
        kinds_for("adamw", list(BUILTINS))
    assert kinds_for("sam", list(BUILTINS)) == ("sam", "sam_stochastic")


def test_cli_check_broken_sam_exits_1(tmp_path, capsys):
    code = main(
        ["check", "broken_sam:NoRestoreSAM", "--claims", "wen2023.sam_step", "--profile", "quick"]
        + ["--out", str(tmp_path), "--quiet", "--time-limit", "5"]
    )
    assert code == 1
    assert "wen2023.sam_step: falsified: " in capsys.readouterr().out


def test_cli_check_bad_rename_is_bad_input(tmp_path, capsys):
    code = main(["check", "broken_sam:ReferenceSAM", "--rename", "rho", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "ours=theirs" in capsys.readouterr().err


def test_pytest_fixture_checks_a_user_sam(flatcheck_claims):
    results = flatcheck_claims("broken_sam:ReferenceSAM", algorithm="sam", claims=["wen2023.sam_step"])
    assert [r.verdict for r in results] == ["verified"]


def test_a_nan_step_from_a_stationary_point_says_the_update_was_0_over_0():
    import broken_nan
    import broken_sap

    from flatcheck.problems.setting1 import diagonal_network, minibatch_problem

    prob = minibatch_problem(diagonal_network([1] * 4, [1] * 4), 1)
    hp = {"lr": 0.05, "rho": 0.2, "eps0": float("inf")}
    minimizer = torch.cat([torch.full((4,), 2.0), torch.full((4,), 0.5)]).to(torch.float64)[None]
    sap = Implementation("broken_sap:ReferenceSAP", "sap", broken_sap.ReferenceSAP)
    with pytest.raises(NonFiniteError, match="the step started where ∇f = 0"):
        sap.path(prob, minimizer, hp, 0, steps=1)
    # Away from a stationary point a NaN is the class's own bug: no hint that would excuse it.
    nan = Implementation("broken_nan:NaNRSP", "rsp", broken_nan.NaNRSP)
    with pytest.raises(NonFiniteError) as err:
        nan.path(prob, minimizer * 1.5, hp, 0, steps=1)
    assert "∇f = 0" not in str(err.value)


class _CountingWPSGD(torch.optim.Optimizer):
    """WP-SGD keeping its step count in an attribute and drawing U from a generator seeded with a
    constant in its constructor (both outside torch's `Optimizer.__getstate__`)."""

    def __init__(self, params, lr, sigma):
        super().__init__(params, {"lr": lr, "sigma": sigma})
        self.count = 0
        self.gen = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def step(self, closure):
        ps = [p for g in self.param_groups for p in g["params"]]
        noise = [torch.randn(p.shape, generator=self.gen, dtype=p.dtype) * self.defaults["sigma"] for p in ps]
        for p, u in zip(ps, noise):
            p.add_(u)
        with torch.enable_grad():
            loss = closure()
        for p, u in zip(ps, noise):
            p.sub_(u).add_(p.grad, alpha=-self.defaults["lr"])
        self.count += 1
        return loss


def test_chains_late_in_a_run_continue_copies_of_one_warmed_up_optimizer():
    """With ITERATION = i every chain's optimizer is a copy of one taken i steps on a linear loss:
    its attributes kept (the count), its parameters set to the chain's row, its generator reseeded
    per chain (the copies would otherwise draw one U in every chain)."""
    from flatcheck.impl.protocol import ITERATION, Chains

    impl = Implementation("counting", "wp_sgd", _CountingWPSGD)
    x = torch.tensor([[0.5, -1.0], [0.5, -1.0], [1.5, 0.25]], dtype=torch.float64)
    hp = {"lr": 0.01, "sigma": 0.1}
    late = Chains(impl, example1(), x, {**hp, ITERATION: 7}, seed=3)
    assert [d.opt.count for d in late._drivers] == [7, 7, 7]
    assert torch.equal(torch.stack([d.vector() for d in late._drivers]), x)
    moved = late.step()
    assert not torch.equal(moved[0], moved[1])  # the same row, independent U
    fresh = Chains(impl, example1(), x, hp, seed=3)
    assert [d.opt.count for d in fresh._drivers] == [0, 0, 0]
    # Each chain's own copy: stepping one leaves the trunk's other copies alone.
    assert [d.opt.count for d in late._drivers] == [8, 8, 8]
    assert len({id(d.opt) for d in late._drivers} | {id(d.params[0]) for d in late._drivers}) == 6


@pytest.mark.parametrize(
    "name, iteration, own, apart",
    [
        ("LoopNSO", 63, 0, True),  # draws when it steps: the trunk's copies step apart
        ("DrawnAheadNSO", 63, 1, True),  # the checked step's U drawn in the step before
        ("BufferedNSO", 63, 8, True),  # drawn in a block of 8 steps' U at step 56
        ("BufferedNSO", 64, 0, True),  # the block spent: step 64 draws the next
        ("LateFrozenNoiseNSO", 63, 0, False),  # U frozen at step 50, reused by every step since
        ("EveryOtherStepNSO", 63, 0, False),  # step 63 reuses step 62's own U
        ("EveryOtherStepNSO", 64, 0, True),  # step 64 draws
        ("AntitheticNSO", 63, 0, False),  # step 63 perturbs by −U of step 62's own U
    ],
)
def test_late_chains_take_their_own_steps_back_to_where_the_checked_steps_draws_were_made(
    name, iteration, own, apart, monkeypatch
):
    """Copies of the warmed-up trunk seeded apart show where the checked step's draws come from
    (`protocol._own_steps`, from the points the closure is evaluated at): a correct class's own
    step (0), or draws made ahead and unused, a step or a block of steps before — then every chain
    takes those last warm-up steps itself and steps apart from the others. Draws the copies' own
    steps had already used (noise reused, negated or frozen) are a defect: the chains share the trunk's."""
    import unseen_nso

    from flatcheck.impl import protocol
    from flatcheck.impl.protocol import ITERATION, Chains

    original, found = protocol._own_steps, []

    def own_steps(*args):
        found.append(original(*args))
        return found[-1]

    monkeypatch.setattr(protocol, "_own_steps", own_steps)
    impl = Implementation(name, "nso", getattr(unseen_nso, name))
    x = torch.tensor([[0.5, -1.0]] * 3, dtype=torch.float64)
    rng = torch.get_rng_state()
    late = Chains(impl, example1(), x, {"lr": 0.01, "sigma": 0.1, "k": 1, ITERATION: iteration}, seed=1)
    assert torch.equal(torch.get_rng_state(), rng)  # the probes leave the caller's global stream alone
    assert found == [own]
    assert [d.opt.steps for d in late._drivers] == [iteration] * 3
    moved = late.step()
    assert (not torch.equal(moved[0], moved[1])) is apart


class _LockedWPSGD(_CountingWPSGD):
    """The same with a lock among its attributes: it cannot be deep-copied."""

    def __init__(self, params, lr, sigma):
        import threading

        super().__init__(params, lr, sigma)
        self.lock = threading.Lock()


def test_an_optimizer_that_cannot_be_copied_is_warmed_up_chain_by_chain():
    from flatcheck.impl.protocol import ITERATION, Chains

    impl = Implementation("locked", "wp_sgd", _LockedWPSGD)
    x = torch.tensor([[0.5, -1.0], [1.5, 0.25]], dtype=torch.float64)
    late = Chains(impl, example1(), x, {"lr": 0.01, "sigma": 0.1, ITERATION: 4}, seed=3)
    assert [d.opt.count for d in late._drivers] == [4, 4]
    assert torch.equal(torch.stack([d.vector() for d in late._drivers]), x)
    assert late._drivers[0].opt is not late._drivers[1].opt


def test_a_class_seeding_its_generator_with_a_constant_still_runs_independent_chains():
    """_CountingWPSGD seeds its generator with 0 in its constructor: every chain's optimizer would
    draw the same U (its steps from one row all equal, a correct class falsified); the harness
    reseeds them per chain. A generator passed in and shared by the chains is left alone."""
    from flatcheck.impl.protocol import Chains

    x = torch.tensor([[0.5, -1.0]] * 3, dtype=torch.float64)
    hp = {"lr": 0.01, "sigma": 0.1}
    moved = Chains(Implementation("counting", "wp_sgd", _CountingWPSGD), example1(), x, hp, seed=3).step()
    assert not torch.equal(moved[0], moved[1]) and not torch.equal(moved[1], moved[2])
    shared = torch.Generator().manual_seed(5)

    def factory(params, lr, sigma):
        opt = _CountingWPSGD(params, lr, sigma)
        opt.gen = shared
        return opt

    Chains(Implementation("shared", "wp_sgd", None, factory=factory), example1(), x, hp, seed=3).step()
    assert shared.initial_seed() == 5


@pytest.mark.parametrize("path", ["unseen_ascent:HvpAscentGD", "unseen_ascent:AutogradAscentGD"])
def test_a_class_differentiating_twice_warms_up_on_the_linear_loss(path):
    """GD on L^asc differentiates ∇L again (a Hessian-vector product): on the warm-up's linear loss
    that is the Hessian 0, not autograd's error about a gradient independent of w."""
    from flatcheck.impl.protocol import ITERATION

    x = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    hp = {"lr": 0.01, "rho": 0.05}
    impl = user(path, "ascent_gd")
    late = impl.run_many(example1(), x, {**hp, ITERATION: 3}, 0, 1)
    assert torch.equal(late, impl.run_many(example1(), x, hp, 0, 1))
