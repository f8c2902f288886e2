"""A pytest plugin: with ``KITARU_TESTS_NO_SKIPS=1`` any skipped test fails the run.

The ``tests`` nox session installs every extra the suite uses and needs PostgreSQL, so a skip
there means something is missing (an extra, a server), never an optional test left out quietly.
"""

from __future__ import annotations

import os

import pytest

ENV = "KITARU_TESTS_NO_SKIPS"
_skipped: list[str] = []


def _note(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Note a module skipped at collection (``pytest.importorskip`` at its top)."""
    _note(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note a skipped test."""
    _note(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a run that skipped anything while ``KITARU_TESTS_NO_SKIPS`` is set."""
    if os.environ.get(ENV) != "1" or not _skipped:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"{ENV}=1 and {len(_skipped)} skipped (install what they need):")
        for line in _skipped:
            reporter.write_line(f"  {line}")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
