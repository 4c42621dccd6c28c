"""flatcheck: the theorems of flat-minima and sharpness-aware optimization papers as executable,
falsifiable properties."""

__version__ = "0.1.0"
