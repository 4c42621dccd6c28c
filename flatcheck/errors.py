"""User-facing errors: each carries one clear message and what to do about it."""

from __future__ import annotations


class FlatcheckError(Exception):
    """Bad input or a broken protocol. The CLI prints the message alone and exits with status 2."""


class ProtocolError(FlatcheckError):
    """A user's implementation does not follow the protocol of DESIGN.md."""


class NonFiniteError(FlatcheckError):
    """A function or an implementation produced NaN or inf."""


class Contradiction(Exception):
    """A step of an implementation, seen by the harness while it prepared an instance, that the claim's
    update rule rules out (`flatcheck.impl.protocol`'s warm-up): the instance's counterexample, with
    the values that show it. The runner records it as the instance failing, not as a crash."""

    def __init__(self, note: str, values: dict):
        super().__init__(note)
        self.note, self.values = note, values
