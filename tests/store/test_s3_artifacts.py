"""Artifacts in S3 through s3fs, against moto's S3 server on a free loopback port.

The endpoint reaches s3fs through ``AWS_ENDPOINT_URL``, which botocore (and so aiobotocore,
under s3fs) honours: an ``s3://bucket/prefix`` artifact URL needs no extra options.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core._config import load_settings
from kitaru_core.errors import ArtifactCorrupted, ArtifactNotFound
from kitaru_core.store._serialization import get_registry

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'kitaru[s3]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (comes with moto)")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket, with this test's artifacts configured to live in it."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    monkeypatch.setenv("KITARU_ARTIFACT_URL", f"s3://{name}/runs")
    _config.reset()
    return name


def keys(bucket: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def blob_key(value: Any) -> str:
    _, data = get_registry().dumps(value, what="test")
    digest = hashlib.sha256(data).hexdigest()
    return f"runs/blobs/{digest[:2]}/{digest}"


calls: Counter[str] = Counter()
knobs: dict[str, bool] = {}


@checkpoint
def render(size: int) -> str:
    calls["render"] += 1
    return "s" * size


@flow
def publish(size: int) -> int:
    text = render(size)
    kitaru.save("report", {"body": text + "!"})
    if knobs.get("broken"):
        raise RuntimeError("the upload step failed")
    return len(text)


def test_large_values_live_in_s3_and_resume_reads_them_back(bucket: str, kitaru_home: Path) -> None:
    calls.clear()
    knobs["broken"] = True
    size = load_settings().inline_limit + 100
    with pytest.raises(RuntimeError):
        publish(size)
    client = KitaruClient()
    [execution] = client.executions.list()
    assert keys(bucket) == sorted([blob_key("s" * size), blob_key({"body": "s" * size + "!"})])
    assert not (kitaru_home / "artifacts").exists()

    knobs["broken"] = False
    assert client.executions.retry(execution.exec_id).wait() == size
    assert calls["render"] == 1  # its output came back from S3
    assert kitaru.load(execution.exec_id, "report") == {"body": "s" * size + "!"}
    assert len(keys(bucket)) == 2  # content-addressed: the second save reused the blob


def test_a_corrupted_or_missing_s3_blob_is_named(bucket: str) -> None:
    size = load_settings().inline_limit + 100
    knobs["broken"] = False
    publish(size)
    client = KitaruClient()
    [artifact] = client.artifacts.list()
    key = blob_key({"body": "s" * size + "!"})
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"body": "tampered"}')

    with pytest.raises(ArtifactCorrupted, match=key.rsplit("/", 1)[1]):
        artifact.load()
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b'{"body": "tampered"}'

    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ArtifactNotFound, match=key.rsplit("/", 1)[1]):
        artifact.load()
