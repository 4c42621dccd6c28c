import os
import sys
from pathlib import Path

import pytest

# Claims run in pytest's own process unless a test asks for --jobs: that process holds threads
# (Dask's in-process test cluster, hypothesis, torch) that a fork had better not copy.
os.environ.setdefault("FLATCHECK_JOBS", "1")

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
