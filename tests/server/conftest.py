"""A real Kitaru server (uvicorn in a thread, on a free loopback port) over its own SQLite
store, shared by a module's tests; flows reach it through ``kitaru.connect``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from server_helpers import Records, Served, free_port

from kitaru_core._config import Settings, Stack
from kitaru_core.server._tokens import create_token
from kitaru_core.store._sql_store import SqlStore


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from kitaru_core.server._app import create_app

    home = tmp_path_factory.mktemp("server-home")
    url = f"sqlite:///{home / 'kitaru.db'}"
    store = SqlStore(url)
    settings = Settings(home=home, stack=Stack("default", url, str(home / "artifacts")))
    _, token = create_token(store, "tests")
    port = free_port()
    records = Records()
    names = ("uvicorn", "uvicorn.access", "uvicorn.error", "kitaru", "fastapi")
    loggers = [logging.getLogger(n) for n in names]
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.DEBUG)
    config = uvicorn.Config(
        create_app(store, settings),
        host="127.0.0.1",
        port=port,
        log_level="debug",
        log_config=None,  # keep our handler: uvicorn's config would replace it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", store, settings, token, home, records)
    finally:
        server.should_exit = True
        thread.join(10)
        for logger in loggers:
            logger.removeHandler(records)
        store.close()


@pytest.fixture
def connected(served: Served, kitaru_home: Path) -> Served:
    """This process's flows and KitaruClient go through the server."""
    import kitaru

    kitaru.connect(served.url, token=served.token)
    return served
