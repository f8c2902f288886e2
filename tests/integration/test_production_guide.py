"""docs/guides/production.md runs as written: its bash blocks in order, in one shell, with its
``agent.py`` beside them, against PostgreSQL and moto's S3 server.

The guide's database host (``db.internal``, user ``kitaru``) becomes the test server's fresh
database; its bucket ``acme-agents`` is created in moto, reached through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.conftest import postgres, postgres_url  # noqa: F401 (fixtures)

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (comes with moto)")
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "guides" / "production.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.DOTALL | re.MULTILINE)
GUIDE_DATABASE = "kitaru:${KITARU_DB_PASSWORD}@db.internal:5432/kitaru"
BUCKET = "acme-agents"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def guide_script(database: str) -> tuple[str, str]:
    """The guide's shell commands (one script) and its agent.py."""
    blocks = BLOCK.findall(GUIDE.read_text())
    shell = [code for kind, code in blocks if kind == "bash"]
    [agent] = [code for kind, code in blocks if kind == "python"]
    assert agent.startswith("# agent.py")
    script = "set -euo pipefail\n" + "\n".join(shell)
    assert GUIDE_DATABASE in script
    return script.replace(GUIDE_DATABASE, database), agent


def test_the_production_guide_runs(
    postgres_url: str,  # noqa: F811
    s3_endpoint: str,
    subprocess_env: dict[str, str],
    tmp_path: Path,
) -> None:
    url = sa.make_url(postgres_url)
    database = f"{url.username}:${{KITARU_DB_PASSWORD}}@{url.host}:{url.port}/{url.database}"
    script, agent = guide_script(database)
    (tmp_path / "agent.py").write_text(agent)
    password_file = tmp_path / "db-password"
    password_file.write_text("not-written-anywhere")
    env = {
        **subprocess_env,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "KITARU_DB_PASSWORD_FILE": str(password_file),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "COLUMNS": "200",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KITARU_STACK", "KITARU_STORE_URL"):
        env.pop(name, None)
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=BUCKET)

    proc = subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "default (from default)" in out
    assert "stack: prod" in out and "length:" in out
    assert "prod (from config file)" in out
    last = json.loads(out[out.rindex("\n[") :])  # `kitaru stack list --json`, at the end
    assert [stack["name"] for stack in last] == ["default"]

    config = (Path(subprocess_env["KITARU_HOME"]) / "config.toml").read_text()
    assert "not-written-anywhere" not in config
    blobs = s3.list_objects_v2(Bucket=BUCKET, Prefix="kitaru/blobs/").get("KeyCount", 0)
    assert blobs >= 1  # the large draft went to S3
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM kitaru_executions")).scalar()
    finally:
        engine.dispose()
    assert count == 1  # the run was recorded in PostgreSQL
