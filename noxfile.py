"""nox sessions: lint, typecheck, unit (bare), tests (all), adapter, postgres, examples, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "unit", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

ADAPTER_EXTRAS = ["pydantic-ai", "litellm"]
TEST_EXTRAS = "dev,pydantic-ai,litellm"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import contracts of pyproject.toml."""
    session.install("ruff==0.17.6", "import-linter==2.17")
    session.install("-e", ".", "--no-deps")  # lint-imports finds the packages it checks
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over kitaru and kitaru_core."""
    session.install("-e", ".[dev]", "mypy==2.4.1")
    session.run("mypy")


@nox.session
def unit(session: nox.Session) -> None:
    """Unit tests on a bare install: no extras, only the test runner."""
    session.install("-e", ".")
    session.install("pytest", "pytest-timeout")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite with every extra it exercises (PostgreSQL, S3, adapters, subprocesses)."""
    session.install("-e", f".[{TEST_EXTRAS}]")
    session.run("pytest", *session.posargs)


@nox.session
@nox.parametrize("extra", ADAPTER_EXTRAS)
def adapter(session: nox.Session, extra: str) -> None:
    """One adapter's tests in an environment with only its extra."""
    session.install("-e", f".[dev,{extra}]")
    session.run("pytest", "tests/adapters", *session.posargs)


@nox.session
def postgres(session: nox.Session) -> None:
    """Store tests against the PostgreSQL server only."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "postgres", "tests/store", *session.posargs)


@nox.session
def examples(session: nox.Session) -> None:
    """Every example, offline."""
    session.install("-e", ".[pydantic-ai,litellm]")
    session.env["KITARU_HOME"] = session.create_tmp()
    session.run("python", "examples/quickstart.py")
    session.run("python", "examples/pydantic_ai_research_agent.py", "--offline")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against peers (each peer in its own venv under benchmarks/.venvs)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/checkpoint_overhead.py", *session.posargs)
