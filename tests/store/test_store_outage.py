"""A PostgreSQL store that goes away: a StoreError saying what to do, never a raw driver error."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.errors import StoreUnavailable
from kitaru_core.store import _backends
from tests.store.conftest import PostgresServer

pytestmark = pytest.mark.postgres


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_store_on_a_closed_port_is_named_as_unreachable() -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://kitaru:secret@127.0.0.1:{port}/kitaru"
    with pytest.raises(StoreUnavailable) as caught:
        KitaruClient(store_url=url)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "secret" not in message
    assert "unreachable" in message and "kitaru executions resume" in message


class Outage:
    """Stops and restarts one database: drops its connections and refuses new ones."""

    def __init__(self, postgres: PostgresServer, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self._admin = postgres._conn

    def start(self) -> None:
        self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self._admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
            [self.name],
        )

    def end(self) -> None:
        self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


@pytest.fixture
def outage(postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    url = postgres.create_database()
    monkeypatch.setenv("KITARU_STORE_URL", url)
    _config.reset()
    stop = Outage(postgres, url)
    try:
        yield stop
    finally:
        stop.end()
        _backends.close_all()
        postgres.drop_database(url)


@checkpoint
def first() -> int:
    return 1


@checkpoint
def second() -> int:
    return 2


OUTAGE: list[Outage] = []


@flow
def interrupted() -> int:
    first()
    OUTAGE[0].start()
    return second()


def test_a_store_that_goes_away_is_a_store_error_for_reads(outage: Outage) -> None:
    # Before: raw sqlalchemy.exc.OperationalError.
    client = KitaruClient()
    assert client.executions.list() == []
    outage.start()
    with pytest.raises(StoreUnavailable, match="unreachable") as caught:
        client.executions.list()
    assert outage.name in str(caught.value)
    outage.end()
    assert client.executions.list() == []


def test_a_store_that_goes_away_mid_run_is_a_store_error(outage: Outage) -> None:
    OUTAGE[:] = [outage]
    with pytest.raises(StoreUnavailable, match="kitaru executions resume"):
        interrupted()


def test_doctor_checks_a_postgresql_store_and_names_an_unreachable_one(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from kitaru_core.cli import app

    url = postgres.create_database()
    try:
        monkeypatch.setenv("KITARU_STORE_URL", url)
        _config.reset()
        KitaruClient().executions.list()  # creates the schema
        _backends.close_all()
        result = CliRunner().invoke(app, ["doctor", "--blobs", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert [(c["check"], c["ok"]) for c in report["checks"]] == [
            ("connection", True),
            ("integrity", True),
            ("schema", True),
            ("blobs", True),
        ]
    finally:
        postgres.drop_database(url)
    monkeypatch.setenv("KITARU_STORE_URL", f"postgresql+psycopg://u@127.0.0.1:{_closed_port()}/x")
    _config.reset()
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    [connection] = json.loads(result.stdout)["checks"]
    assert connection["check"] == "connection" and not connection["ok"]
    assert "unreachable" in connection["detail"]
