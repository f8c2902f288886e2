"""Schemathesis against the server's OpenAPI description (issue 13): generated requests to
every public operation, with a valid token, never get a 5xx nor an answer that breaks the
description's own schema. In process (ASGI), over a store holding a waiting, a completed and
a failed execution so that found ids have something to hit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kitaru_core._config import Settings, Stack  # noqa: E402
from kitaru_core.server._app import create_app  # noqa: E402
from kitaru_core.server._tokens import create_token  # noqa: E402
from kitaru_core.store._sql_store import SqlStore  # noqa: E402

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


def _app(home: Path) -> tuple[Any, str]:
    url = f"sqlite:///{home / 'kitaru.db'}"
    store = SqlStore(url)
    _, token = create_token(store, "fuzz")
    settings = Settings(home=home, stack=Stack("default", url, str(home / "artifacts")))
    return create_app(store, settings), token


HOME = Path(__import__("tempfile").mkdtemp(prefix="kitaru-fuzz-"))
APP, TOKEN = _app(HOME)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def waiting() -> str:
    """A waiting execution in the fuzzed store (run through the app's own settings)."""
    from server_flows import write

    import kitaru

    kitaru.configure(
        store_url=APP.state.settings.stack.store_url,
        artifact_url=APP.state.settings.stack.artifact_url,
    )
    try:
        return write.run("fuzz").exec_id
    finally:
        kitaru.configure(store_url=None, artifact_url=None)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_follow_the_openapi_description(case: Any, waiting: str) -> None:
    params = case.path_parameters or {}
    if case.method == "GET" and "exec_id" in params and len(str(params["exec_id"])) % 2:
        params["exec_id"] = waiting  # reads of a real execution too, with fuzzed queries
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    case.call_and_validate(checks=CHECKS)
