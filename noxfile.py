"""nox sessions: lint, typecheck, unit (bare), tests (all), adapter, postgres, examples, bench.

Every session installs from ``constraints.txt``, the pinned versions of every dependency of
every extra, so a new release of anything cannot change what the README's test command runs.
``nox -s lock`` refreshes the pins; ``nox -s latest`` runs the suite on the newest releases
without them, to catch drift on purpose.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "unit", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

CONSTRAINTS = "constraints.txt"
# Extras pinned by the lock (all of them), the ones the test suite exercises, and one
# environment per adapter (with what that adapter's tests need).
LOCK_PYTHON = "3.11"
TEST_EXTRAS = "dev,pydantic-ai,mcp,litellm"
ADAPTER_EXTRAS = ["pydantic-ai,mcp", "litellm"]
# Tests never reach the network: LiteLLM reads its bundled price map instead of fetching one.
OFFLINE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def install(session: nox.Session, *args: str) -> None:
    """pip install ``args`` at the versions pinned in constraints.txt."""
    session.install("-c", CONSTRAINTS, *args)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import contracts of pyproject.toml."""
    install(session, "ruff", "import-linter")
    session.install("-e", ".", "--no-deps")  # lint-imports finds the packages it checks
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over kitaru and kitaru_core."""
    install(session, "-e", ".[dev]")
    session.run("mypy")


@nox.session
def unit(session: nox.Session) -> None:
    """Unit tests on a bare install: no extras, only the test runner."""
    install(session, "-e", ".", "pytest", "pytest-timeout")
    session.run("pytest", "tests/unit", *session.posargs, env=OFFLINE_ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite with every extra it exercises (PostgreSQL, S3, adapters, subprocesses)."""
    install(session, "-e", f".[{TEST_EXTRAS}]")
    session.run("pytest", *session.posargs, env={**OFFLINE_ENV, "KITARU_TESTS_NO_SKIPS": "1"})


@nox.session
@nox.parametrize("extra", ADAPTER_EXTRAS)
def adapter(session: nox.Session, extra: str) -> None:
    """One adapter's tests in an environment with only its extra."""
    install(session, "-e", f".[dev,{extra}]")
    session.run("pytest", "tests/adapters", *session.posargs, env=OFFLINE_ENV)


@nox.session
def postgres(session: nox.Session) -> None:
    """Store tests against the PostgreSQL server only."""
    install(session, "-e", ".[dev]")
    session.run("pytest", "-m", "postgres", "tests/store", *session.posargs, env=OFFLINE_ENV)


@nox.session
def examples(session: nox.Session) -> None:
    """Every example, offline."""
    install(session, "-e", ".[pydantic-ai,litellm]")
    session.env.update(OFFLINE_ENV)
    session.env["KITARU_HOME"] = session.create_tmp()
    session.run("python", "examples/quickstart.py")
    session.run("python", "examples/pydantic_ai_research_agent.py", "--offline")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against peers (each peer in its own venv under benchmarks/.venvs)."""
    install(session, "-e", ".")
    session.run("python", "benchmarks/checkpoint_overhead.py", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Refresh constraints.txt: the newest versions of every extra's dependencies, pinned."""
    session.install("uv")
    session.run(
        "uv", "pip", "compile", "pyproject.toml",
        "--all-extras", "--universal", "--python-version", LOCK_PYTHON,
        "--upgrade", "--custom-compile-command", "nox -s lock", "--output-file", CONSTRAINTS,
    )  # fmt: skip


@nox.session
def latest(session: nox.Session) -> None:
    """The whole suite on the newest release of every dependency, ignoring constraints.txt."""
    session.install("--upgrade", "--upgrade-strategy", "eager", "-e", f".[{TEST_EXTRAS}]")
    session.run("pytest", *session.posargs, env={**OFFLINE_ENV, "KITARU_TESTS_NO_SKIPS": "1"})
