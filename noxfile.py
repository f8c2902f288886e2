"""nox sessions: lint, typecheck, unit (bare), tests (all), adapter, postgres, examples, bench.

Every session installs from ``constraints.txt``, the pinned versions of every dependency of
every extra, so a new release of anything cannot change what the README's test command runs.
``nox -s lock`` refreshes the pins; ``nox -s latest`` runs the suite on the newest releases
without them, to catch drift on purpose.
"""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["lint", "typecheck", "unit", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# uv makes each session's environment in seconds where pip takes minutes (the README installs
# nox[uv]); without uv, nox falls back to virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"

CONSTRAINTS = "constraints.txt"
# Extras pinned by the lock (all of them), the ones the test suite exercises, and one
# environment per adapter (with what that adapter's tests need).
LOCK_PYTHON = "3.11"
TEST_EXTRAS = (
    "dev,pydantic-ai,mcp,otel,litellm,workers,celery,langgraph,langgraph-tests,openai-agents,"
    "server,browser-tests"
)
# Each adapter: its package (under adapters/, tests in tests/adapters/test_<name>[_*].py), the
# extras its environment gets besides dev, and the harness import it brings. An adapter's
# session installs only its own extras, so no harness (the Claude SDK's large binary) lands in
# another's environment; the session checks that none did.
ADAPTERS = {
    "pydantic-ai": ("kitaru_pydantic_ai", "pydantic-ai,mcp", "pydantic_ai"),
    "litellm": ("kitaru_litellm", "litellm", "litellm"),
    "claude-agent-sdk": ("kitaru_claude_agent_sdk", "claude-agent-sdk", "claude_agent_sdk"),
    "langgraph": ("kitaru_langgraph", "langgraph,langgraph-tests", "langgraph"),
    "openai-agents": ("kitaru_openai_agents", "openai-agents", "agents"),
}
# Adapters left out of TEST_EXTRAS (the Claude SDK bundles a ~400 MB CLI): their tests run only
# in their own `adapter` session, so the sessions without them do not collect those tests.
OWN_SESSION_ONLY = ("tests/adapters/test_claude_agent_sdk.py",)
NOT_COLLECTED = [f"--ignore={path}" for path in OWN_SESSION_ONLY]
# Examples that need a harness kept out of the `examples` session run in its adapter's session.
ADAPTER_EXAMPLES = {"claude-agent-sdk": "examples/claude_agent.py"}
# Tests never reach the network: LiteLLM reads its bundled price map instead of fetching one.
OFFLINE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
# The suites run their tests on every core (pytest-xdist): much of a test's time is spent waiting
# on a subprocess, a lease or a server, which other tests use meanwhile. Work stealing keeps both
# cores busy to the end, when one file's slow tests would otherwise run alone.
PARALLEL = ["-n", "auto", "--dist", "worksteal"]
# The unit tests run on a bare install in the `unit` session; the `tests` session runs every
# other folder, and again only the unit files that skip there for want of an extra.
UNIT_NEEDING_EXTRAS = [
    "tests/unit/test_layers.py",  # import-linter
    "tests/unit/test_stacks.py",  # psycopg
    "tests/unit/test_toolkit.py",  # genai-prices
]


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
    """mypy over kitaru, kitaru_core and every adapter, with the harnesses of TEST_EXTRAS
    installed (the Claude SDK's adapter is checked against its SDK in its own session)."""
    install(session, "-e", f".[{TEST_EXTRAS}]")
    session.run("mypy")


@nox.session
def unit(session: nox.Session) -> None:
    """Unit tests on a bare install: no extras, only the test runner."""
    install(session, "-e", ".", "pytest", "pytest-timeout", "pytest-xdist")
    session.run("pytest", *PARALLEL, "tests/unit", *session.posargs, env=OFFLINE_ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """The suite with every extra it exercises (PostgreSQL, S3, adapters, servers, browsers,
    subprocesses): every folder of tests/ but unit (run bare by `unit`), and the unit files that
    need an extra; with arguments after --, what they name."""
    install(session, "-e", f".[{TEST_EXTRAS}]")
    folders = sorted(d.rstrip("/") for d in glob.glob("tests/*/") if d != "tests/unit/")
    folders = [d for d in folders if glob.glob(f"{d}/**/test_*.py", recursive=True)]
    session.run(
        "pytest",
        *PARALLEL,
        *NOT_COLLECTED,
        *(session.posargs or [*folders, *UNIT_NEEDING_EXTRAS]),
        env={**OFFLINE_ENV, "KITARU_TESTS_NO_SKIPS": "1"},
    )


@nox.session
@nox.parametrize("name", [nox.param(name, id=name) for name in ADAPTERS])
def adapter(session: nox.Session, name: str) -> None:
    """One adapter alone: only its extras installed, mypy on its package, then its tests."""
    package, extras, harness = ADAPTERS[name]
    install(session, "-e", f".[dev,{extras}]")
    others = [other for _, _, other in ADAPTERS.values() if other != harness]
    session.run("python", "-c", ONLY_ITS_HARNESS, harness, *others)
    session.run("mypy", f"adapters/{package}")
    # tests/adapters/test_<name>.py and any test_<name>_*.py beside it
    stem = f"tests/adapters/test_{package.removeprefix('kitaru_')}"
    test_files = sorted({f"{stem}.py", *glob.glob(f"{stem}_*.py")})
    session.run(
        "pytest", *test_files, *session.posargs, env={**OFFLINE_ENV, "KITARU_TESTS_NO_SKIPS": "1"}
    )
    if name in ADAPTER_EXAMPLES:
        session.env["KITARU_HOME"] = session.create_tmp()
        session.run("python", ADAPTER_EXAMPLES[name], "--offline", env=OFFLINE_ENV)


ONLY_ITS_HARNESS = """
import importlib.util, sys
own, *others = sys.argv[1:]
assert importlib.util.find_spec(own), f"{own} is not installed"
present = [name for name in others if importlib.util.find_spec(name)]
assert not present, f"another adapter's harness is installed here: {present}"
"""


@nox.session
def postgres(session: nox.Session) -> None:
    """Store tests against the PostgreSQL server only."""
    install(session, "-e", ".[dev]")
    session.run("pytest", "-m", "postgres", "tests/store", *session.posargs, env=OFFLINE_ENV)


@nox.session
def examples(session: nox.Session) -> None:
    """Every example, offline."""
    install(session, "-e", ".[pydantic-ai,litellm,langgraph,openai-agents]")
    session.env.update(OFFLINE_ENV)
    session.env["KITARU_HOME"] = session.create_tmp()
    session.run("python", "examples/quickstart.py")
    session.run("python", "examples/pydantic_ai_research_agent.py", "--offline")
    session.run("python", "examples/langgraph_agent.py", "--offline")
    session.run("python", "examples/openai_agents_agent.py", "--offline")


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
    eager = [] if session.venv_backend == "uv" else ["--upgrade-strategy", "eager"]  # uv: always
    session.install("--upgrade", *eager, "-e", f".[{TEST_EXTRAS}]")
    session.run(
        "pytest",
        *PARALLEL,
        *NOT_COLLECTED,
        *session.posargs,
        env={**OFFLINE_ENV, "KITARU_TESTS_NO_SKIPS": "1"},
    )
