import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Claims run in pytest's own process unless a test asks for --jobs: that process holds threads
# (Dask's in-process test cluster, hypothesis, torch) that a fork had better not copy.
os.environ.setdefault("FLATCHECK_JOBS", "1")

# flatcheck's disk cache (`flatcheck.cache`) starts empty for each test session: no test may pass
# only because an earlier run left its symbolic work on disk. The session's xdist workers share it
# (they inherit the controller's environment, and _SESSION_CACHE names the controller's folder): what
# one worker derived the other reads, as a second flatcheck process would, instead of deriving it
# again. The process that made the folder removes it.
_SESSION_CACHE = "FLATCHECK_TEST_SESSION_CACHE"
if os.environ.get("PYTEST_XDIST_WORKER") and os.path.isdir(os.environ.get(_SESSION_CACHE, "")):
    os.environ["FLATCHECK_CACHE_DIR"] = os.environ[_SESSION_CACHE]
else:
    os.environ["FLATCHECK_CACHE_DIR"] = os.environ[_SESSION_CACHE] = tempfile.mkdtemp(prefix="flatcheck-test-cache-")
    atexit.register(shutil.rmtree, os.environ["FLATCHECK_CACHE_DIR"], True)
os.environ.pop("FLATCHECK_NO_CACHE", None)

# One torch thread per xdist worker: `make test` runs one worker per core, and a worker with a thread
# per core oversubscribes the machine, where OpenMP's waiting threads stall small tensor ops. In the
# CI run that showed it, dexter2024.figure1_2 reached 0 instances in 10 s (0.9 s alone) and a
# corollary15_17 test took 93 s (2 s alone); `make test` went from 271 s to 206 s with one thread.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(1)

# tests/fixtures/ holds the implementations used as `module:Class` targets: deliberately broken
# ones, mutants, user-style and third-party-style classes, toy claims.
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))


@pytest.fixture
def interrupt_vt_norm(monkeypatch):
    """Ctrl-C arrives while ahn2024.vt_norm runs; gives the real run_claim, to put back."""
    import flatcheck.verify.runner as runner

    real = runner.run_claim

    def interrupted(claim, *a, **kw):
        if claim.id == "ahn2024.vt_norm":
            raise KeyboardInterrupt
        return real(claim, *a, **kw)

    monkeypatch.setattr(runner, "run_claim", interrupted)
    return real


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first. `make test` hands tests to its workers one at a time as each
    frees (xdist's loadgroup), so the long ones start early and the end of the run is many short
    tests shared by both workers, not one long test running alone while the other worker idles.
    The sort is stable: every worker collects the same order, which xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
