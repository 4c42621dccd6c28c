"""pytorch-optimizer's SAM family constructed and driven through flatcheck's protocol (factories and
drivers in tests/fixtures/third_party_sam.py), a staged multi-pass NSO (tests/fixtures/staged_nso.py), and the options
that plug them in: --factory, --driver, --kwargs references and collisions."""

from __future__ import annotations

import pytest
import torch

from flatcheck.cli import main
from flatcheck.errors import FlatcheckError, ProtocolError
from flatcheck.impl import builtin, user_implementation
from flatcheck.problems import wen_toy
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get
from flatcheck.verify.runner import run_claim

HP = {"lr": 0.1, "rho": 0.05}
X = torch.tensor([[0.3, 0.6, 0.5, -0.4], [-0.2, 0.4, 0.1, 0.7]], dtype=torch.float64)
STEPS = 3

# (target, factory, driver, kwargs, steps that equal SAM's (3) from the same point: all, or only the first)
CONFIGS = {
    "SAM": ("pytorch_optimizer:SAM", None, None, {}, "all"),
    "SAM staged": ("pytorch_optimizer:SAM", None, "first_second", {}, "all"),
    "SAM adaptive": ("pytorch_optimizer:SAM", None, None, {"adaptive": True}, "none"),
    "GSAM alpha=0": ("pytorch_optimizer:GSAM", "third_party_sam:gsam", "outputs_loss", {"alpha": 0.0}, "all"),
    "GSAM": ("pytorch_optimizer:GSAM", "third_party_sam:gsam", "outputs_loss", {}, "none"),
    "WSAM gamma=1/2": ("pytorch_optimizer:WSAM", "third_party_sam:wsam", "closure", {"gamma": 0.5}, "all"),
    "WSAM": ("pytorch_optimizer:WSAM", "third_party_sam:wsam", "closure", {}, "none"),
    "BSAM": ("pytorch_optimizer:BSAM", "third_party_sam:bsam", "third_party_sam:bsam_step", {}, "none"),
    "LookSAM k=1": ("pytorch_optimizer:LookSAM", None, None, {"k": 1}, "all"),
    "LookSAM": ("pytorch_optimizer:LookSAM", None, None, {}, "first"),
    "FriendlySAM sigma=0": ("pytorch_optimizer:FriendlySAM", None, None, {"sigma": 0.0}, "all"),
    "FriendlySAM": ("pytorch_optimizer:FriendlySAM", None, None, {}, "first"),
}
# pytorch-optimizer sums the global gradient norm in float32 and guards it with 1e-12: agreement
# with (3) at float64 is to float32 precision, far below the differences of the other algorithms.
CLOSE = 1e-6


def sam_impl(label: str):
    target, factory, driver, kwargs, _ = CONFIGS[label]
    # Named: only SAM itself is inferred from its name (`AlgorithmSpec.others`).
    return user_implementation(target, "sam", kwargs=kwargs, factory=factory, driver=driver)["sam"]


@pytest.mark.parametrize("label", CONFIGS)
def test_sam_family_is_constructed_and_driven(label):
    """Every class is built (through its factory where its constructor needs one) and stepped for
    several steps with one optimizer object per chain; each step is compared with SAM's (3) from the
    point the run reached."""
    run = sam_impl(label).path(wen_toy(), X, HP, 0, STEPS)
    assert torch.isfinite(run.x).all() and run.x.shape == (2, STEPS + 1, 4)
    ref = builtin("sam")
    errors = [float((ref.step_many(wen_toy(), run.x[:, t], HP, 0) - run.x[:, t + 1]).abs().max()) for t in range(STEPS)]
    same = [e < CLOSE for e in errors]
    expected = CONFIGS[label][4]
    assert (
        same == {"all": [True] * STEPS, "none": [False] * STEPS, "first": [True] + [False] * (STEPS - 1)}[expected]
    ), errors


def test_sam_that_forgets_to_zero_between_passes_is_caught():
    """The common SAM API's closure does not zero the gradients: an optimizer that forgets to is wrong."""
    ok = user_implementation("broken_sam:ReferenceSAM", None)["sam"].step_many(wen_toy(), X, HP, 0)
    bad = user_implementation("broken_sam:NoZeroSAM", None)["sam"].step_many(wen_toy(), X, HP, 0)
    ref = builtin("sam").step_many(wen_toy(), X, HP, 0)
    assert torch.allclose(ok, ref, atol=1e-14)
    assert (bad - ref).abs().max() > 1e-3


def _verdict(impl, claim_id: str, time_limit_s: float) -> str:
    return run_claim(get(claim_id), budget_for("quick", time_limit_s=time_limit_s), impl=impl, catalog_size=60)


def test_staged_multi_pass_nso_through_a_custom_driver():
    good = user_implementation("staged_nso:StagedNSO", "nso", driver="staged_nso:drive")["nso"]
    res = _verdict(good, "nso.alg1_step", 20)
    assert res.verdict == "verified", (res.reason, res.traceback)
    bad = user_implementation("staged_nso:StagedNSO", "nso", driver="staged_nso:drive", kwargs={"noise_sign_bug": True})
    res = _verdict(bad["nso"], "nso.alg1_step", 10)
    assert res.verdict == "falsified", (res.reason, res.traceback)


def test_every_hyper_parameter_is_passed_with_its_default():
    seen = {}

    def factory(params, **args):
        seen.update(args)
        return torch.optim.SGD(params, lr=args["lr"])

    impl = user_implementation(torch.optim.SGD, "rsp", factory=factory, driver="closure")["rsp"]
    impl.make([torch.nn.Parameter(torch.zeros(2))], {"lr": 0.1, "rho": 0.2})
    assert seen == {"lr": 0.1, "rho": 0.2, "eps0": float("inf"), "lr_prime": 0.1}


def test_kwargs_may_name_an_object_and_may_not_repeat_a_hyper_parameter():
    impl = user_implementation("pytorch_optimizer:SAM", None, kwargs={"base_optimizer": "torch.optim:Adam"})["sam"]
    assert impl.constructor_args({"lr": 0.1, "rho": 0.2})["base_optimizer"] is torch.optim.Adam
    with pytest.raises(FlatcheckError, match="hyper-parameter"):
        user_implementation("pytorch_optimizer:SAM", None, kwargs={"rho": 0.1})
    with pytest.raises(FlatcheckError, match="hyper-parameter"):
        user_implementation("pytorch_optimizer:SAM", None, rename={"rho": "radius"}, kwargs={"radius": 0.1})


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--kwargs", '{"lr": 0.5}'], "hyper-parameter"),
        (["--factory", "third_party_sam:nothing"], "no attribute"),
        (["--driver", "sideways"], "unknown driver"),
    ],
)
def test_cli_bad_plug_in_is_bad_input(tmp_path, capsys, extra, message):
    code = main(["check", "pytorch_optimizer:SAM", "--out", str(tmp_path), "--quiet", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_driver_that_cannot_drive_is_one_protocol_error():
    impl = user_implementation("flatcheck.algorithms:GD", "gd", driver="first_second")["gd"]
    with pytest.raises(ProtocolError, match="first_step"):
        impl.step_many(wen_toy(), X, {"lr": 0.1}, 0)


def test_cli_check_with_factory_and_driver(tmp_path, capsys):
    code = main(
        ["check", "pytorch_optimizer:GSAM", "--algorithm", "sam", "--factory", "third_party_sam:gsam"]
        + ["--driver", "outputs_loss"]
        + ["--kwargs", '{"alpha": 0.4}', "--claims", "wen2023.sam_step", "--profile", "quick"]
        + ["--out", str(tmp_path), "--quiet", "--time-limit", "5", "--jobs", "1"]
    )
    assert code == 1
    assert "wen2023.sam_step: falsified: " in capsys.readouterr().out


def test_pytest_fixture_takes_factory_and_driver(flatcheck_claims):
    from broken_sam import ReferenceSAM

    built = []

    def factory(params, base_optimizer, lr, rho):
        built.append(ReferenceSAM(params, base_optimizer, rho=rho, lr=lr))
        return built[-1]

    results = flatcheck_claims(
        ReferenceSAM, factory=factory, driver="first_second", claims=["wen2023.sam_step"], profile="quick"
    )
    assert [r.verdict for r in results] == ["verified"] and built


def test_replay_carries_factory_and_driver():
    from flatcheck.verify.result import replay_command

    impl = sam_impl("GSAM alpha=0")
    line = replay_command(get("wen2023.sam_step"), budget_for("quick"), impl)
    assert "--factory third_party_sam:gsam --driver outputs_loss" in line
    assert """--kwargs '{"alpha": 0.0}'""" in line
