"""A flow whose checkpoints take objects holding sets of strings (issue 7).

Pickled bytes list a set's members in hash order, which changes with ``PYTHONHASHSEED``; the
test runs this flow and resumes it in processes with different seeds. Each checkpoint body
appends its name to ``KITARU_TEST_SIDE_EFFECTS``; the one named by ``KITARU_TEST_KILL_AT`` kills
its own process right after that.
"""

from __future__ import annotations

import os
import signal
import sys
import types
from typing import Any

from kitaru import checkpoint, flow

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


class Labels:
    """An object with its own ``__reduce__`` holding a frozenset."""

    def __init__(self, labels: frozenset[str]) -> None:
        self.labels = labels

    def __reduce__(self) -> tuple[Any, ...]:
        return (Labels, (self.labels,))


def side_effect(name: str) -> None:
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as handle:
        handle.write(f"{name}\n")
    if os.environ.get("KITARU_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


@checkpoint
def count_tags(config: types.SimpleNamespace) -> int:
    side_effect("count_tags")
    return len(config.tags)


@checkpoint
def count_labels(labels: Labels) -> int:
    side_effect("count_labels")
    return len(labels.labels)


@checkpoint
def last(total: int) -> int:
    side_effect("last")
    return total


@flow
def tagged() -> int:
    config = types.SimpleNamespace(tags=set(WORDS), owner="me")
    labels = Labels(frozenset(WORDS[:5]))
    return last(count_tags(config) + count_labels(labels))


if __name__ == "__main__":
    print(tagged())
    sys.exit(0)
