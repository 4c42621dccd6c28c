"""User-facing errors: each carries one clear message and what to do about it."""

from __future__ import annotations


class FlatcheckError(Exception):
    """Bad input or a broken protocol. The CLI prints the message alone and exits with status 2."""


class ProtocolError(FlatcheckError):
    """A user's implementation does not follow the protocol of DESIGN.md."""


class NonFiniteError(FlatcheckError):
    """A function or an implementation produced NaN or inf."""
