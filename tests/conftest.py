import os
import sys
from pathlib import Path

# Claims run in pytest's own process unless a test asks for --jobs: that process holds threads
# (Dask's in-process test cluster, hypothesis, torch) that a fork had better not copy.
os.environ.setdefault("FLATCHECK_JOBS", "1")

# tests/ holds the deliberately broken implementations used as `module:Class` targets.
sys.path.insert(0, str(Path(__file__).parent))
