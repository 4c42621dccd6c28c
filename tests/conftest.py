import sys
from pathlib import Path

# tests/ holds the deliberately broken implementations used as `module:Class` targets.
sys.path.insert(0, str(Path(__file__).parent))
