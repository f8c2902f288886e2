"""S3 artifacts under faults: moto's in-process server is stopped in the middle of a run.

A short outage is ridden out by the S3 client's retries with backoff; a long one fails the
operation cleanly (no row refers to a blob that was not written) and the execution resumes once
S3 is back. The endpoint comes from the stack's artifact URL through a ``${VAR}`` reference.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core._config import load_settings
from kitaru_core.errors import StackUnavailable, StoreUnavailable

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'kitaru[s3]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (comes with moto)")


class Moto:
    """moto's S3 server on one fixed port, which can be stopped and started again."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.buckets: set[str] = set()

    def start(self) -> None:
        self.server = moto_server.ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )
        self.server.start()
        # A restarted moto may have lost its buckets (a new process always does): make them.
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        for name in self.buckets - existing:
            client.create_bucket(Bucket=name)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint)

    def new_bucket(self) -> str:
        name = f"kitaru-{uuid.uuid4().hex[:12]}"
        self.buckets.add(name)
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> set[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return {item["Key"] for item in listing.get("Contents", [])}


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = Moto()
    server.start()
    monkeypatch.setenv("TEST_S3_ENDPOINT", server.endpoint)
    try:
        yield server
    finally:
        server.stop()


def s3_stack(moto: Moto, retries: int) -> str:
    """A new stack on SQLite and a new bucket; the endpoint is a ${VAR} reference."""
    bucket = moto.new_bucket()
    kitaru.create_stack(
        "cloud",
        store=f"sqlite:///{load_settings().home / 'cloud.db'}",
        artifacts=f"s3://{bucket}/runs?endpoint_url=${{TEST_S3_ENDPOINT}}&retries={retries}",
        activate=True,
    )
    return bucket


CALLS: Counter[str] = Counter()
DURING: dict[str, Callable[[], None]] = {}


@checkpoint
def small(x: int) -> int:
    CALLS["small"] += 1
    return x + 1


@checkpoint
def large(x: int) -> str:
    CALLS["large"] += 1
    fault = DURING.pop("large", None)
    if fault is not None:
        fault()  # S3 goes away while this checkpoint runs; its output is written after
    return str(x) * (load_settings().inline_limit + 10)


@flow
def report(x: int) -> int:
    first = small(x)
    text = large(first)
    return len(text)


def test_a_short_s3_outage_is_retried_with_backoff(moto: Moto) -> None:
    CALLS.clear()
    bucket = s3_stack(moto, retries=8)

    def outage() -> None:
        moto.stop()
        threading.Timer(1.0, moto.start).start()  # back after a second, with its bucket

    DURING["large"] = outage
    started = time.perf_counter()
    length = report(1)
    assert time.perf_counter() - started >= 0.9  # the write waited for S3 to come back
    assert length == load_settings().inline_limit + 10
    [execution] = KitaruClient().executions.list()
    assert execution.status == "completed"
    refs = {op.output_ref for op in KitaruClient().store.load_operations(execution.exec_id)}
    refs.discard(None)
    assert len(refs) == 1
    assert {f"runs/blobs/{r[:2]}/{r}" for r in refs} <= moto.keys(bucket)
    assert Counter(small=1, large=1) == CALLS


def test_an_unreachable_s3_fails_the_operation_cleanly_and_the_execution_resumes(
    moto: Moto,
) -> None:
    CALLS.clear()
    bucket = s3_stack(moto, retries=1)
    DURING["large"] = moto.stop  # down for good while the checkpoint runs

    handle = report.run(1)
    with pytest.raises(StoreUnavailable, match="artifact store s3://") as caught:
        handle.wait()
    assert "kitaru executions retry" in str(caught.value)
    client = KitaruClient()
    execution = client.executions.get(handle.exec_id)
    assert execution.status == "failed"
    operations = client.store.load_operations(handle.exec_id)
    assert [(op.name, op.status) for op in operations] == [("small", "completed")]
    assert all(op.output_ref is None for op in operations)  # nothing refers to a missing blob

    # While S3 is down, the stack is refused before anything runs, saying which part and why.
    with pytest.raises(StackUnavailable, match=r"its artifact store s3://.*cannot be reached"):
        kitaru.use_stack("cloud")

    moto.start()
    assert client.executions.retry(handle.exec_id).wait() == load_settings().inline_limit + 10
    assert Counter(small=1, large=2) == CALLS  # `small` reused; `large` ran again
    refs = {op.output_ref for op in client.store.load_operations(handle.exec_id)} - {None}
    assert {f"runs/blobs/{r[:2]}/{r}" for r in refs} <= moto.keys(bucket)


def test_a_missing_bucket_is_named_when_the_stack_is_created(moto: Moto) -> None:
    with pytest.raises(StackUnavailable, match="there is no bucket 'no-such-bucket'"):
        kitaru.create_stack(
            "cloud",
            store=f"sqlite:///{load_settings().home / 'cloud.db'}",
            artifacts="s3://no-such-bucket/runs?endpoint_url=${TEST_S3_ENDPOINT}",
        )
    assert [s.name for s in kitaru.list_stacks()] == ["default"]
