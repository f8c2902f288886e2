"""Runners: where a stack's executions run (the calling process, or ``kitaru worker``s)."""

from kitaru_core.runners._resolve import runner_for

__all__ = ["runner_for"]
