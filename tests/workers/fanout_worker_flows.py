"""Fan-out flows the worker fan-out test queues; ``kitaru worker`` imports them by name."""

from __future__ import annotations

import kitaru
from kitaru import checkpoint, flow


@checkpoint
def square(i: int) -> int:
    return i * i


@flow
def squarer(i: int) -> int:
    return square(i)


@checkpoint
def add_up(parts: list[int]) -> int:
    return sum(parts)


@flow
def fans_out_on_workers(n: int) -> int:
    return add_up(kitaru.gather(*[squarer.run(i) for i in range(n)]))
