"""Logic written once for sync and async callers: a generator of steps, and two drivers.

A step generator holds the whole logic (retries, records, bookkeeping) and yields only what
differs between the two worlds: :data:`CALL` to have the body called (the driver sends back
its result, or throws its exception in at the ``yield``), or a number of seconds to sleep.
:func:`drive` calls and sleeps in this thread; :func:`adrive` awaits both. What the generator
returns is what the driver returns.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

T = TypeVar("T")

CALL = None
"""Yielded by a step generator to have the body called."""

Steps = Generator[float | None, Any, T]
"""A step generator: yields :data:`CALL` or seconds to sleep, returns the result."""


def drive(steps: Steps[T], call: Callable[[], Any]) -> T:
    """Run ``steps`` in this thread: ``call()`` the body, ``time.sleep`` the pauses."""
    thrown: BaseException | None = None
    try:
        step = next(steps)
        while True:
            try:
                if step is CALL:
                    done = call()
                else:
                    time.sleep(step)
                    done = None
            except BaseException as exc:
                thrown = exc
                step = steps.throw(exc)
            else:
                step = steps.send(done)
    except StopIteration as stop:
        return stop.value
    except RuntimeError as error:
        masked = _masked(error, thrown)
        if masked is None:
            raise
    raise masked


async def adrive(steps: Steps[T], call: Callable[[], Awaitable[Any]]) -> T:
    """Run ``steps`` in a coroutine: ``await call()`` the body, ``asyncio.sleep`` the pauses."""
    import asyncio  # lazy: only async code needs it

    thrown: BaseException | None = None
    try:
        step = next(steps)
        while True:
            try:
                done = await (call() if step is CALL else asyncio.sleep(step))
            except BaseException as exc:
                thrown = exc
                step = steps.throw(exc)
            else:
                step = steps.send(done)
    except StopIteration as stop:
        return stop.value
    except RuntimeError as error:
        masked = _masked(error, thrown)
        if masked is None:
            raise
    raise masked


def _masked(error: RuntimeError, thrown: BaseException | None) -> StopIteration | None:
    """The body's StopIteration when ``error`` is it, thrown into the steps and raised again
    there: a StopIteration that leaves a generator becomes a RuntimeError (PEP 479), and the
    caller gets it back as from a plain call."""
    if isinstance(thrown, StopIteration) and error.__cause__ is thrown:
        return thrown
    return None
