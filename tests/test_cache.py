"""The disk cache of deterministic work (`flatcheck.cache`): a second run reads what the first
computed, a changed input (a mutant's constant) misses, and a corrupt or foreign entry is
recomputed — never trusted."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import sympy as sp
import torch
from toy_claims import bound, toy_claim

from flatcheck import cache
from flatcheck.problems import compile as cc
from flatcheck.problems import problem as pm
from flatcheck.symbolic import expectation
from flatcheck.verify import Constant
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import derivation, run_claim


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty cache of the test's own, with the counts of this test only."""
    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path))
    monkeypatch.delenv(cache.OFF_ENV, raising=False)
    _forget_in_process()
    cache.STATS.clear()
    return tmp_path


def _forget_in_process() -> None:
    """What a fresh process would not have: the in-process caches in front of the disk."""
    cc._in_process.clear()
    cc._lambdify_cached.cache_clear()
    for f in (pm._gradient, pm._hessian, pm._hessian_diagonal, pm._trace_bar):
        f.cache_clear()


def _entries(store, namespace):
    return sorted((store / namespace).glob("*.pkl"))


def test_a_second_call_hits_and_a_changed_key_misses(store):
    calls = []

    def compute():
        calls.append(1)
        return {"value": len(calls)}

    assert cache.memo("t", "k", compute) == {"value": 1}
    assert cache.memo("t", "k", compute) == {"value": 1}
    assert cache.memo("t", "other", compute) == {"value": 2}
    assert len(calls) == 2
    assert (cache.STATS["t:hit"], cache.STATS["t:miss"]) == (1, 2)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # one bit of the payload flipped
        lambda raw: b"not a cache entry",
        lambda raw: b"",
    ],
    ids=["truncated", "bit-flipped", "garbage", "empty"],
)
def test_a_corrupt_entry_is_recomputed_never_trusted(store, spoil):
    cache.memo("t", "k", lambda: [1, 2, 3])
    (entry,) = _entries(store, "t")
    entry.write_bytes(spoil(entry.read_bytes()))
    assert cache.memo("t", "k", lambda: [4, 5, 6]) == [4, 5, 6]
    assert cache.STATS["t:rejected"] == 1
    # ... and the recomputed value replaced it.
    assert cache.memo("t", "k", lambda: [7]) == [4, 5, 6]


def test_an_entry_written_for_another_key_is_rejected(store):
    cache.memo("t", "a", lambda: "value of a")
    cache.memo("t", "b", lambda: "value of b")
    path_a, path_b = _entries(store, "t")
    path_b.write_bytes(path_a.read_bytes())  # b's file now holds a's whole, valid entry
    values = {cache.memo("t", k, lambda k=k: f"fresh {k}") for k in ("a", "b")}
    assert values == {"value of a", "fresh b"} or values == {"fresh a", "value of b"}
    assert cache.STATS["t:rejected"] == 1


def test_a_namespace_past_its_bound_drops_its_older_half(store, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 4)
    for i in range(6):
        cache.memo("t", f"k{i}", lambda i=i: i)
    assert len(_entries(store, "t")) == 6  # bounded once per process, before its first write
    cache._bounded.clear()
    cache.memo("t", "k6", lambda: 6)
    assert len(_entries(store, "t")) == 4  # six, less the older three, and the new one


def test_no_cache_reads_and_writes_nothing(store, monkeypatch):
    monkeypatch.setenv(cache.OFF_ENV, "1")
    assert cache.memo("t", "k", lambda: 1) == 1
    assert cache.memo("t", "k", lambda: 2) == 2
    assert not (store / "t").exists()


def _symbolic_claim(calls: list[int]):
    x = sp.Symbol("x")

    def derive():
        """The Taylor polynomial of exp to order 4."""
        calls.append(1)
        return sp.series(sp.exp(x), x, 0, 5).removeO()

    base = toy_claim("derived", bound)
    return dataclasses.replace(base, derive=derive, constants=(Constant("c", 10.0, "10", "smaller", mutation="scale"),))


def test_a_second_run_reads_the_derivation_and_a_mutant_misses_it(store):
    calls: list[int] = []
    claim = _symbolic_claim(calls)
    budget = budget_for("quick")
    first = run_claim(claim, budget)
    second = run_claim(claim, budget)
    assert first.derivation == second.derivation and "x" in first.derivation
    assert len(calls) == 1
    assert cache.STATS["derive:hit"] == 1
    # flatcheck mutate moves a constant through the budget: a different entry.
    mutant = dataclasses.replace(budget, constants={"c": 5.0})
    assert derivation(claim, mutant) == first.derivation
    assert len(calls) == 2
    assert cache.STATS["derive:miss"] == 2
    # A corrupt entry of a derivation is derived again.
    for entry in _entries(store, "derive"):
        entry.write_bytes(entry.read_bytes()[:-3])
    assert derivation(claim, budget) == first.derivation
    assert len(calls) == 3 and cache.STATS["derive:rejected"] == 1


def _ridge_problem() -> pm.Problem:
    xs = sp.symbols("x1:4", real=True)
    expr = (xs[0] + 2 * xs[1] - xs[2]) ** 4 / 7 + sp.exp(xs[0] * xs[2]) + xs[1] ** 2 * sp.sin(xs[2])
    return pm.Problem("ridge-test", xs, expr, is_polynomial=False)


def test_the_key_of_an_expression_does_not_depend_on_how_it_shares_subexpressions():
    x, y = sp.symbols("x y", real=True)
    part = sp.sin(x) * y + x**3
    copy = pickle.loads(pickle.dumps(part))
    assert copy is not part and copy == part
    assert cache.expr_key((part, part)) == cache.expr_key((part, copy))
    assert cache.expr_key((part, part)) != cache.expr_key((part, part + 1))


def test_derivatives_and_compiled_code_read_back_give_the_same_numbers(store):
    x = torch.tensor([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]], dtype=torch.float64)
    fresh = _ridge_problem()
    values = (fresh.grad(x), fresh.hess(x), fresh.grad_trace_bar(x), fresh.f(x))
    hess_expr = fresh.hess_expr
    assert cache.STATS["lambdify:hit"] == 0 and cache.STATS["lambdify:miss"] >= 3
    _forget_in_process()
    cache.STATS.clear()
    again = _ridge_problem()
    for a, b in zip(values, (again.grad(x), again.hess(x), again.grad_trace_bar(x), again.f(x))):
        assert torch.equal(a, b)
    assert cache.STATS["lambdify:miss"] == 0 and cache.STATS["lambdify:hit"] >= 4
    # The compiled Hessian came from disk without differentiating; the expressions do too.
    assert cache.STATS["derivatives:miss"] == 0
    assert again.hess_expr == hess_expr and cache.STATS["derivatives:hit"] >= 1
    # mpmath code read back: the same 50-digit value.
    point = [sp.Rational(3, 10), sp.Rational(-6, 5), sp.Rational(7, 10)]
    assert again.f_mp(point) == fresh.f_mp(point)


def test_corrupt_compiled_code_is_compiled_again(store):
    x = torch.tensor([[0.3, -1.2, 0.7]], dtype=torch.float64)
    want = _ridge_problem().hess(x)
    for entry in _entries(store, "lambdify"):
        raw = entry.read_bytes()
        entry.write_bytes(raw.replace(b"return", b"retumn"))  # code that would not even run
    _forget_in_process()
    cache.STATS.clear()
    assert torch.equal(_ridge_problem().hess(x), want)
    assert cache.STATS["lambdify:rejected"] >= 1 and cache.STATS["lambdify:hit"] == 0


def test_exact_moments_are_kept(store):
    g = sp.symbols("g1:4", real=True)
    expr = (g[0] + 2 * g[1] + g[2]) ** 6
    first = expectation(expr, g, "sphere")
    cache._expr_key.cache_clear()
    assert expectation(expr, g, "sphere") == first
    assert expectation(expr, g, "gaussian") != first  # the law is part of the key
    assert (cache.STATS["moments:hit"], cache.STATS["moments:miss"]) == (1, 2)


def test_a_second_verify_reads_its_symbolic_work_and_no_cache_reads_nothing(store, tmp_path, monkeypatch):
    import json

    from flatcheck.cli import main

    # main() switches the cache off through the environment (for its workers): restored after.
    monkeypatch.setenv(cache.OFF_ENV, "")

    def verify(out: str, *extra: str) -> dict:
        args = ["verify", "ahn2024.example1", "--exact", "--profile", "quick", "--jobs", "1", "--quiet"]
        assert main([*args, "--out", str(tmp_path / out), *extra]) == 0
        (claim,) = json.loads((tmp_path / out / "results.json").read_text())["claims"]
        return {k: claim[k] for k in ("verdict", "evidence", "derivation", "examples", "passed")}

    first = verify("first")
    assert cache.STATS["derive:miss"] == 1 and cache.STATS["derive:hit"] == 0
    _forget_in_process()
    second = verify("second")
    assert cache.STATS["derive:hit"] == 1 and cache.STATS["lambdify:hit"] >= 1
    assert second == first
    entries = sorted(store.rglob("*.pkl"))
    cache.STATS.clear()
    _forget_in_process()
    assert verify("uncached", "--no-cache") == first
    assert sorted(store.rglob("*.pkl")) == entries and not cache.STATS


def test_what_a_check_reads_from_derive_is_kept_and_read_back(store, monkeypatch):
    from flatcheck.verify import derived

    calls: list[int] = []

    def derive():
        calls.append(1)
        return {"kappa": sp.Rational(1, 2), "terms": [sp.Symbol("rho", positive=True) ** 2]}

    monkeypatch.setattr(derived, "_wrappers", {})
    first = derived.cached_derive(derive)
    assert first() is first() and len(calls) == 1  # once in the process
    monkeypatch.setattr(derived, "_wrappers", {})
    again = derived.cached_derive(derive)  # as a new process would wrap it
    assert again() == first() and len(calls) == 1
    assert (cache.STATS["derived:miss"], cache.STATS["derived:hit"]) == (1, 1)

    def unpicklable():
        calls.append(1)
        return {"f": lambda x: x}

    assert derived.cached_derive(unpicklable)()["f"](3) == 3  # not kept on disk, still returned


def test_the_registry_hands_checks_the_kept_derive():
    import flatcheck_theorems.ahn2024.eq5 as eq5
    from flatcheck.verify.registry import get

    claim = get("ahn2024.eq5")
    assert claim.derive is eq5.derive and eq5.derive.__flatcheck_cached__
    assert eq5.derive()["kappa"] == eq5.derive.__wrapped__()["kappa"] == sp.Rational(1, 2)


def test_a_plot_is_drawn_once_and_one_that_cannot_be_drawn_fails_the_same_from_the_cache(store):
    from flatcheck.report import png as plots

    spec = {"type": "loglog", "x": [0.1, 0.01, 0.001], "y": [1e-3, 1e-6, 1e-9], "reference_order": 3}
    bad = {"type": "no such plot"}
    for _ in range(2):
        png = plots.render_png(spec)
        with pytest.raises(ValueError, match="unknown plot type") as first:
            plots.render_png(bad)
        plots._render_cached.cache_clear()  # as in a new process
    assert png.startswith("iVBOR") and (cache.STATS["plots:miss"], cache.STATS["plots:hit"]) == (2, 2)
    assert str(first.value).startswith("unknown plot type")
