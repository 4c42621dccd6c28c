"""pytest front door: `pytest --flatcheck` collects catalog claims as test items, and the
`flatcheck_claims` fixture asserts claims on a user's implementation inside their own tests.

    pytest --flatcheck [--flatcheck-profile quick] [--flatcheck-claims ahn2024 wen2023.theorem21 …]

One test item per claim, named by its id (node id `flatcheck::<paper>::<claim id>`), so JUnit XML
(`--junitxml`), `-k` and `--lf` work as for any test. Each verdict is judged against the one the
catalog expects (`Claim.expected`), as `flatcheck verify` does: a paper's erratum falsified as
expected is an expected failure (xfail, with the erratum), a reproduction inconclusive as expected
is skipped with its reason; a verdict that differs from the expected one fails — a falsified claim
with its minimal counterexample, what was measured and the one-line replay command, an error with
the traceback of the check. Hypothesis' example database (`.hypothesis/`) is used, so a
counterexample found once is tried first on the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flatcheck.errors import FlatcheckError


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flatcheck")
    group.addoption("--flatcheck", action="store_true", help="collect flatcheck claims as test items")
    group.addoption("--flatcheck-profile", default="quick", choices=["quick", "default", "thorough"])
    group.addoption("--flatcheck-claims", nargs="*", default=None, help="claim ids or paper prefixes")
    group.addoption("--flatcheck-seed", type=int, default=0)
    group.addoption("--flatcheck-time-limit", type=float, default=None, help="seconds per claim")
    group.addoption(
        "--flatcheck-report", default=None, metavar="DIR", help="write the claims' report (HTML, Markdown, JSON) to DIR"
    )


def _budget(config: pytest.Config, profile: str | None = None, seed: int | None = None) -> Any:
    from flatcheck.verify.profiles import budget_for

    return budget_for(
        profile or config.getoption("flatcheck_profile"),
        seed=config.getoption("flatcheck_seed") if seed is None else seed,
        time_limit_s=config.getoption("flatcheck_time_limit"),
    )


@contextmanager
def _thread_share(config: pytest.Config) -> Iterator[None]:
    """Under pytest-xdist, torch's threads for the claim: the worker's share of the cores, put back
    after it. Each worker would start a thread per core; N workers on N cores then oversubscribe the
    machine, and OpenMP's waiting threads slow small tensor ops many times (flatcheck's own suite
    saw a claim reach 0 instances in its 10 s limit, 0.9 s alone) — time limits then decide."""
    workers = getattr(config, "workerinput", {}).get("workercount")
    if not workers:
        yield
        return
    import torch

    from flatcheck.verify.parallel import usable_cores

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, usable_cores() // workers)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ClaimItem(pytest.Item):
    def __init__(self, *, claim: Any, **kw: Any):
        super().__init__(**kw)
        self.claim = claim
        self.user_properties.append(("claim_ref", claim.ref))

    def runtest(self) -> None:
        from flatcheck.impl import builtin
        from flatcheck.verify.registry import all_claims
        from flatcheck.verify.runner import run_claim

        impl = builtin(self.claim.algorithm) if self.claim.algorithm else None
        with _thread_share(self.config):
            res = run_claim(
                self.claim, _budget(self.config), impl=impl, catalog_size=len(all_claims()), use_database=True
            )
        _stream_for_report(self.config, res)
        self.user_properties += [("verdict", res.verdict), ("instances", res.examples)]
        expected = self.claim.expected
        if res.verdict != expected.verdict:
            raise ClaimFailure(res, f"expected {expected.verdict}, now {res.verdict}")
        if res.verdict == "falsified":
            pytest.xfail(f"paper erratum, falsified as expected: {expected.note}")
        if res.verdict == "inconclusive":
            pytest.skip(f"inconclusive as expected: {res.reason}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimFailure):
            head = excinfo.value.head
            return (f"{head}\n" if head else "") + describe_failure(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return f"flatcheck::{self.claim.paper}", 0, f"{self.claim.id} ({self.claim.ref})"


class ClaimFailure(Exception):
    def __init__(self, result: Any, head: str = ""):
        super().__init__(result.reason)
        self.result = result
        self.head = head


def describe_failure(res: Any) -> str:
    """A failure message a person can act on: what failed, where, with what numbers, how to replay."""
    from flatcheck.report.text import fmt, instance_text

    lines = [f"{res.id} ({res.ref}) is {res.verdict.upper()}: {res.reason}"]
    if res.impl:
        lines.append(f"implementation: {res.impl}")
    cx = res.counterexample or {}
    if cx.get("instance") is not None:
        label = "minimal counterexample" if res.verdict == "falsified" else "instance"
        lines.append(f"{label}:\n  " + instance_text(cx["instance"]).replace("\n", "\n  "))
    if cx.get("values"):
        lines.append("measured:\n" + "\n".join(f"  {k} = {fmt(v)}" for k, v in cx["values"].items()))
    if res.traceback and res.verdict == "error":
        lines.append(res.traceback.rstrip())
    lines.append(f"replay: {res.replay}")
    return "\n".join(lines)


class PaperCollector(pytest.Collector):
    def __init__(self, *, claims: list[Any], **kw: Any):
        super().__init__(**kw)
        self.claims = claims

    def collect(self) -> list[pytest.Item]:
        return [ClaimItem.from_parent(self, name=c.id, claim=c) for c in self.claims]


class CatalogCollector(pytest.Collector):
    """flatcheck → one collector per paper → one item per claim (JUnit classname `flatcheck.<paper>`)."""

    def collect(self) -> list[pytest.Collector]:
        from flatcheck.verify.registry import select

        claims = select(self.config.getoption("flatcheck_claims"))
        papers = dict.fromkeys(c.paper for c in claims)
        return [PaperCollector.from_parent(self, name=p, claims=[c for c in claims if c.paper == p]) for p in papers]


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so that it applies to claim items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("flatcheck"):
        return
    collector = CatalogCollector.from_parent(session, name="flatcheck", nodeid="flatcheck")
    try:
        items.extend(item for paper in collector.collect() for item in paper.collect())
    except FlatcheckError as e:
        raise pytest.UsageError(str(e)) from e


@pytest.fixture
def flatcheck_claims(request: pytest.FixtureRequest):
    """Assert catalog claims on an implementation (the algorithm is inferred from the class name
    when not given; every claim of that algorithm runs unless `claims` narrows them; `factory`
    and `driver` are `flatcheck check`'s --factory and --driver, a 'module:name' or the callable;
    further keyword arguments are --kwargs):

        def test_my_sam(flatcheck_claims):
            flatcheck_claims("mypkg.opt:MySAM")

    Judges the implementation, not the paper: a claim the catalog records as a paper's erratum is
    set aside (it does not fail the test) and its corrected twin runs instead where one exists.
    Fails the test with the counterexample and a replay command when a claim is falsified or
    errors (a defect of the implementation); returns the claims' results when all are verified
    (inconclusive ones fail too unless allow_inconclusive=True or the catalog expects the claim to
    be inconclusive, as for a reproduction our scale cannot decide). An implementation that does not
    follow the protocol fails the test with one message."""
    from flatcheck.impl import user_implementation
    from flatcheck.verify.expectations import check_plan, protocol_problem
    from flatcheck.verify.registry import all_claims, select
    from flatcheck.verify.runner import run_claim

    def run(
        target: str | type,
        algorithm: str | None = None,
        claims: list[str] | None = None,
        profile: str | None = None,
        seed: int | None = None,
        rename: dict[str, str] | None = None,
        allow_inconclusive: bool = False,
        factory: str | Any = None,
        driver: str | Any = None,
        **kwargs: Any,
    ) -> list[Any]:
        try:
            # One class may serve several algorithms (a SAM is full-batch and stochastic SAM): one adapter each.
            impls = user_implementation(target, algorithm, rename=rename, kwargs=kwargs, factory=factory, driver=driver)
            algorithm = next(iter(impls))
            chosen, aside = check_plan([c for c in select(claims) if c.algorithm in impls], tuple(impls))
            budget = _budget(request.config, profile, seed)
        except FlatcheckError as e:
            pytest.fail(f"flatcheck: {e}", pytrace=False)
        if not chosen and not aside:
            pytest.fail(f"flatcheck: no claim exercises a {algorithm!r} implementation", pytrace=False)
        n = len(all_claims())
        results = []
        for c in chosen:
            with _thread_share(request.config):
                res = run_claim(c, budget, impl=impls[c.algorithm], catalog_size=n, use_database=True)
            if protocol_problem(res.to_json()):
                name = impls[c.algorithm].name
                pytest.fail(f"flatcheck: {name} does not follow the protocol ({c.id}): {res.reason}", pytrace=False)
            results.append(res)
        expected = {c.id: c.expected.verdict for c in chosen}

        def fails(r: Any) -> bool:
            # Inconclusive passes where the catalog expects it (a reproduction our scale cannot decide).
            undecided_ok = allow_inconclusive or expected[r.id] == "inconclusive"
            return r.verdict != "verified" and not (r.verdict == "inconclusive" and undecided_ok)

        bad = [r for r in results if fails(r)]
        if bad:
            pytest.fail("\n\n".join(describe_failure(r) for r in bad), pytrace=False)
        return results

    return run


def _stream_for_report(config: pytest.Config, res: Any) -> None:
    """With --flatcheck-report, stream the claim's record to DIR/results.jsonl: from every
    pytest-xdist worker into one file, under a lock, for the report written at the end."""
    out = config.getoption("flatcheck_report")
    if not out:
        return
    from pathlib import Path

    from flatcheck.bookkeeping import append_shared

    append_shared(Path(out), res.to_json())


_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    out = session.config.getoption("flatcheck_report")
    if out and not hasattr(session.config, "workerinput"):  # the controller clears, its workers append
        import time
        from pathlib import Path

        session.config.stash[_STARTED] = time.perf_counter()
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "results.jsonl").write_text("")


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = session.config.getoption("flatcheck_report")
    if not out or hasattr(session.config, "workerinput"):
        return
    from pathlib import Path

    from flatcheck.bookkeeping import write_results
    from flatcheck.report import provenance, read_stream
    from flatcheck.verify.registry import all_claims

    config = session.config
    records = read_stream(Path(out) / "results.jsonl")
    if records:
        import time

        prov = provenance(config.getoption("flatcheck_profile"), config.getoption("flatcheck_seed"), "cpu")
        wall = time.perf_counter() - config.stash[_STARTED]
        # The claims ran on the xdist workers, whose CPU time this process cannot see: wall time only.
        spent = {"wall_time_s": wall, "part_wall_time_s": wall}
        write_results(
            {**prov, "runner": "pytest --flatcheck"}, records, all_claims(), None, spent, len(records), None, Path(out)
        )
