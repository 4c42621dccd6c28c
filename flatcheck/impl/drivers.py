"""Drivers: how one step of an optimizer is performed, exactly as its users perform it.

A driver is a function `driver(optimizer, closure) -> loss | None`. The closure it receives is the
harness's *loss closure*: it computes the loss at the current parameters, calls backward() (which
accumulates into `.grad`; it never zeroes them) and returns the loss; it passes on its arguments
(SAP's `example=True`). The driver does what the user's training loop does around it: zeroing the
gradients where users zero them, running the first backward pass where users run it, calling the
staged methods in order. `--driver module:function` plugs in any other one.

The built-in drivers, by name:

- closure: PyTorch's convention. `optimizer.step(c)` where c zeroes the gradients, then runs the
  loss closure; step must call it and return its loss.
- enable_grad: the same, with c running under `torch.enable_grad()` (for a step decorated with
  `torch.no_grad()` that calls its closure as it is).
- outputs_loss: the same under enable_grad, with c returning `(outputs, loss)` (pytorch-optimizer's
  GSAM); the outputs of the problems' "models" are their losses.
- sam: the common SAM API (davda54/sam, pytorch-optimizer's SAM): the user runs backward() at the
  current point, then `optimizer.step(closure)` with a closure that does NOT zero the gradients —
  the optimizer must zero them between its two passes.
- first_second: the staged SAM API: backward() at w, `first_step(zero_grad=True)`, backward() at
  the ascent point, `second_step(zero_grad=True)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch

from flatcheck.errors import ProtocolError

Closure = Callable[..., Any]
Driver = Callable[[torch.optim.Optimizer, Closure], Any]


class _Counted:
    """A closure that counts its calls, so a step that never evaluates it is caught."""

    def __init__(self, closure: Closure):
        self.closure, self.calls = closure, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.closure(*args, **kwargs)


def _step(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    counted = _Counted(closure)
    try:
        ret = optimizer.step(counted)
    except TypeError as e:
        raise ProtocolError(f"step(closure) failed: {e}") from e
    if counted.calls == 0:
        raise ProtocolError("step never called the closure")
    return ret


def _zeroing(optimizer: torch.optim.Optimizer, closure: Closure, grad_mode: bool) -> Closure:
    def zeroed(*args: Any, **kwargs: Any) -> Any:
        optimizer.zero_grad()
        if not grad_mode:
            return closure(*args, **kwargs)
        with torch.enable_grad():
            return closure(*args, **kwargs)

    return zeroed


def _returns_loss(ret: Any) -> Any:
    if ret is None:
        raise ProtocolError(
            "step(closure) returned None; a torch optimizer's step returns the loss the closure computed "
            "(PyTorch's convention)"
        )
    return ret


def closure_driver(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    return _returns_loss(_step(optimizer, _zeroing(optimizer, closure, grad_mode=False)))


def enable_grad_driver(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    return _returns_loss(_step(optimizer, _zeroing(optimizer, closure, grad_mode=True)))


def outputs_loss_driver(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    zeroed = _zeroing(optimizer, closure, grad_mode=True)

    def pair(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        loss = zeroed(*args, **kwargs)
        return loss.detach(), loss

    _step(optimizer, pair)
    return None


def sam_driver(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    optimizer.zero_grad()
    with torch.enable_grad():
        loss = closure()
    _step(optimizer, closure)
    return loss


def first_second_driver(optimizer: torch.optim.Optimizer, closure: Closure) -> Any:
    missing = [m for m in ("first_step", "second_step") if not callable(getattr(optimizer, m, None))]
    if missing:
        raise ProtocolError(f"the first_second driver needs {' and '.join(missing)}() on the optimizer")
    optimizer.zero_grad()
    with torch.enable_grad():
        loss = closure()
    optimizer.first_step(zero_grad=True)
    with torch.enable_grad():
        closure()
    optimizer.second_step(zero_grad=True)
    return loss


DRIVERS: dict[str, Driver] = {
    "closure": closure_driver,
    "enable_grad": enable_grad_driver,
    "outputs_loss": outputs_loss_driver,
    "sam": sam_driver,
    "first_second": first_second_driver,
}


def load_object(ref: str, what: str) -> Any:
    """Resolve 'package.module:attr' (attr may be dotted) with one clear message on failure."""
    mod_name, sep, attr = ref.partition(":")
    if not (sep and mod_name and attr):
        raise ProtocolError(f"{ref!r} is not an import path; write the {what} as module:name, e.g. mypkg.opt:{what}")
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise ProtocolError(f"cannot import module {mod_name!r} ({e}); is it installed or on PYTHONPATH?") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ProtocolError(f"module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def resolve_driver(driver: str | Driver) -> Driver:
    """A built-in driver by name, a 'module:function' reference, or a callable as it is."""
    if callable(driver):
        return driver
    if driver in DRIVERS:
        return DRIVERS[driver]
    if ":" not in driver:
        raise ProtocolError(f"unknown driver {driver!r}; use one of {', '.join(DRIVERS)} or module:function")
    found = load_object(driver, "driver")
    if not callable(found):
        raise ProtocolError(f"driver {driver} is not callable; it must be a function (optimizer, closure)")
    return found


def resolve_factory(factory: str | Callable[..., Any]) -> Callable[..., Any]:
    """A factory `(params, **hyper_parameters) -> optimizer` from a 'module:function' reference."""
    found = load_object(factory, "factory") if isinstance(factory, str) else factory
    if not callable(found):
        raise ProtocolError(f"factory {factory} is not callable; it must be a function (params, **hyper_parameters)")
    return found
