"""pytest front door: `pytest --flatcheck` collects catalog claims as test items, and the
`flatcheck_claims` fixture asserts claims on a user's implementation inside their own tests."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flatcheck")
    group.addoption("--flatcheck", action="store_true", help="collect flatcheck claims as test items")
    group.addoption("--flatcheck-profile", default="quick", choices=["quick", "default", "thorough"])
    group.addoption("--flatcheck-claims", nargs="*", default=None, help="claim ids or paper prefixes")
    group.addoption("--flatcheck-seed", type=int, default=0)


class ClaimItem(pytest.Item):
    def __init__(self, *, claim: Any, **kw: Any):
        super().__init__(**kw)
        self.claim = claim

    def runtest(self) -> None:
        from flatcheck.impl import builtin
        from flatcheck.verify.profiles import budget_for
        from flatcheck.verify.registry import all_claims
        from flatcheck.verify.runner import run_claim

        cfg = self.config
        budget = budget_for(cfg.getoption("flatcheck_profile"), seed=cfg.getoption("flatcheck_seed"))
        impl = builtin(self.claim.impl) if self.claim.impl else None
        res = run_claim(self.claim, budget, impl=impl, catalog_size=len(all_claims()), use_database=True)
        if res.verdict != "verified":
            raise ClaimFailure(res)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimFailure):
            return describe_failure(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return self.claim.paper, 0, self.claim.id


class ClaimFailure(Exception):
    def __init__(self, result: Any):
        super().__init__(result.reason)
        self.result = result


def describe_failure(res: Any) -> str:
    lines = [f"{res.id}: {res.verdict} — {res.reason}"]
    if res.counterexample:
        lines.append(f"counterexample: {res.counterexample.get('instance')}")
        lines.append(f"measured: {res.counterexample.get('values')}")
    if res.traceback:
        lines.append(res.traceback)
    lines.append(f"replay: {res.replay}")
    return "\n".join(lines)


class CatalogCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from flatcheck.verify.registry import select

        return [
            ClaimItem.from_parent(self, name=c.id, claim=c) for c in select(self.config.getoption("flatcheck_claims"))
        ]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("flatcheck"):
        return
    collector = CatalogCollector.from_parent(session, name="flatcheck")
    items.extend(collector.collect())


@pytest.fixture
def flatcheck_claims():
    """Assert catalog claims on an implementation:

    def test_my_sam(flatcheck_claims):
        flatcheck_claims("mypkg.opt:MySAM", algorithm="sam")
    """
    from flatcheck.impl import BUILTINS, Implementation, kinds_for, load_class
    from flatcheck.verify.profiles import budget_for
    from flatcheck.verify.registry import all_claims, select
    from flatcheck.verify.runner import run_claim

    def run(
        target: str | type,
        algorithm: str,
        claims: list[str] | None = None,
        profile: str = "quick",
        seed: int = 0,
        rename: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        cls = load_class(target) if isinstance(target, str) else target
        name = target if isinstance(target, str) else f"{cls.__module__}:{cls.__qualname__}"
        # One class may serve several kinds (a SAM is full-batch and stochastic SAM): one adapter each.
        impls = {
            k: Implementation(name, k, cls, rename=rename or {}, kwargs=kwargs)
            for k in kinds_for(algorithm, list(BUILTINS))
        }
        chosen = [c for c in select(claims) if c.impl in impls]
        if not chosen:
            pytest.fail(f"no claim exercises a {algorithm!r} implementation")
        results = [
            run_claim(c, budget_for(profile, seed=seed), impl=impls[c.impl], catalog_size=len(all_claims()))
            for c in chosen
        ]
        bad = [r for r in results if r.verdict != "verified"]
        if bad:
            pytest.fail("\n\n".join(describe_failure(r) for r in bad), pytrace=False)
        return results

    return run
