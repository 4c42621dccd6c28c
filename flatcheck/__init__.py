"""flatcheck: the theorems of flat-minima and sharpness-aware optimization papers as executable,
falsifiable properties."""

import importlib.metadata as _metadata

# From the installed distribution, so that pyproject.toml is the one place the version is written
# and tools that cannot import the package (a clone's folder shadowing it) read the same number.
try:
    __version__ = _metadata.version("flatcheck")
except _metadata.PackageNotFoundError:
    __version__ = "0+unknown (not installed)"
