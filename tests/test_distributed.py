"""A campaign on a Dask cluster gives the same results as the serial run, whatever the workers."""

from __future__ import annotations

import json

import pytest

from flatcheck.cli import main

distributed = pytest.importorskip("distributed")

# The in-process cluster's threads draw from `random` while hypothesis generates in the serial run
# beside them; hypothesis mistakes that for a strategy using `random` (see verify/distributed.py).
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

CLAIMS = ["ahn2024.lemma1", "ahn2024.vt_norm"]


def _results(path):
    doc = json.loads((path / "results.json").read_text())
    for r in doc["claims"]:
        r.pop("time_s")
    return doc


def _comparable(doc):
    prov = doc["provenance"]
    for key in ("wall_time_s", "started", "scheduler", "workers", "jobs", "cpu_time_s", "peak_rss_mib"):
        prov.pop(key)
    return doc


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c


@pytest.mark.slow
def test_distributed_run_equals_serial_run(tmp_path, cluster):
    common = [*CLAIMS, "--profile", "quick", "--seed", "11", "--quiet"]
    assert main(["verify", *common, "--out", str(tmp_path / "serial")]) == 0
    assert main(["verify", *common, "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]) == 0
    serial, dask = _results(tmp_path / "serial"), _results(tmp_path / "dask")
    assert dask["provenance"]["scheduler"] == cluster.scheduler_address
    assert [r["id"] for r in dask["claims"]] == sorted(CLAIMS)
    assert _comparable(dask) == _comparable(serial)
    streamed = [json.loads(line)["id"] for line in (tmp_path / "dask" / "results.jsonl").read_text().splitlines()]
    assert sorted(streamed) == sorted(CLAIMS)


def test_unreachable_scheduler_is_one_clear_error(tmp_path, capsys):
    code = main(["verify", CLAIMS[0], "--quiet", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err


def test_instance_batches_are_dask_tasks_with_the_serial_result(cluster):
    from toy_claims import bound, toy_claim

    from flatcheck.verify.distributed import Dask
    from flatcheck.verify.runner import run_claims

    claims = [toy_claim("fails", bound), toy_claim("holds", lambda x, impl, budget: bound(0, impl, budget))]
    serial = run_claims(claims, profile="thorough", seed=3, jobs=1)
    dask = run_claims(claims, profile="thorough", seed=3, executor=Dask(cluster.scheduler_address))

    def key(results):
        return {r.id: (r.verdict, r.counterexample, r.evidence, r.examples, r.reason) for r in results}

    assert key(dask) == key(serial)
    assert key(serial)["toy.holds"][3] == 40 and "in 4 instance batches" in key(serial)["toy.holds"][4]
