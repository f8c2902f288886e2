"""A PostgreSQL stack made with ``kitaru stack create``: the password stays a ``${VAR}``
reference in the config file, is read at use, and flows run and resume on it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.cli import app

pytestmark = pytest.mark.postgres
runner = CliRunner()
BROKEN = {"on": True}


@checkpoint
def fetch(n: int) -> list[int]:
    return list(range(n))


@flow
def total(n: int) -> int:
    values = fetch(n)
    if BROKEN["on"]:
        raise RuntimeError("stop after fetch")
    return sum(values)


def test_a_postgres_stack_keeps_its_password_as_a_reference(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_TEST_PGPASSWORD", "s3cr3t-not-stored")
    url = sa.make_url(postgres_url)
    store = f"postgresql+psycopg://{url.username}:${{KITARU_TEST_PGPASSWORD}}@{url.host}:{url.port}/{url.database}"
    result = runner.invoke(app, ["stack", "create", "pg", "--store", store, "--use", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["store"] == store
    text = _config.config_path().read_text()
    assert "${KITARU_TEST_PGPASSWORD}" in text and "s3cr3t-not-stored" not in text

    BROKEN["on"] = True
    handle = total.run(4)
    with pytest.raises(RuntimeError):
        handle.wait()
    BROKEN["on"] = False
    assert KitaruClient().executions.retry(handle.exec_id).wait() == 6
    assert kitaru.current_stack().name == "pg"
    shown = runner.invoke(app, ["stack", "show", "pg"]).output
    assert "${KITARU_TEST_PGPASSWORD}" in shown and "s3cr3t" not in shown
