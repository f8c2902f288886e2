"""The HTTP store backend: a :class:`Store` (and artifact store) whose every call goes to a
Kitaru server (``kitaru+http://HOST:PORT``), so a client needs no database or storage
credentials. The server side is :mod:`kitaru_core.server._store_api`.

The bearer token comes from ``kitaru.connect(url, token=...)`` in this process, else
``KITARU_SERVER_TOKEN``, else the credentials file that ``kitaru login`` wrote.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Collection, Sequence
from typing import Any

from kitaru_core._config import kitaru_home
from kitaru_core.errors import MissingExtraError, StoreError, StoreUnavailable
from kitaru_core.store._records import (
    ArtifactRecord,
    DeploymentRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    StartedRecord,
    WaitRecord,
)
from kitaru_core.store._store import Store
from kitaru_core.store._wire import decode, decode_error, encode

SCHEMES = ("kitaru+http://", "kitaru+https://")
PLAIN_SCHEMES = ("http://", "https://")
"""A store URL may also be the server's plain URL (the artifact URL must say ``kitaru+``)."""
CREDENTIALS_FILE = "credentials.json"
TIMEOUT_SECONDS = 30.0

_tokens: dict[str, str] = {}
_tokens_lock = threading.Lock()


def base_url(url: str) -> str:
    """``http(s)://host:port`` of a ``kitaru+http(s)://`` (or plain) store URL."""
    if url.startswith(PLAIN_SCHEMES):
        return url.rstrip("/")
    if not url.startswith(SCHEMES):
        raise StoreError(f"{url!r} is not a kitaru+http:// or kitaru+https:// URL.")
    return url[len("kitaru+") :].rstrip("/")


def remember_token(base: str, token: str | None) -> None:
    """Use ``token`` for the server at ``base`` in this process (``kitaru.connect``)."""
    with _tokens_lock:
        if token:
            _tokens[base] = token
        else:
            _tokens.pop(base, None)


def credentials_path() -> Any:
    """The file ``kitaru login`` keeps tokens in (readable by its owner only)."""
    return kitaru_home() / CREDENTIALS_FILE


def save_credentials(base: str, token: str) -> None:
    """Keep ``token`` for ``base`` in the credentials file, created with mode 0600."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = read_credentials()
    saved[base] = token
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def read_credentials() -> dict[str, str]:
    """Saved tokens by server URL."""
    path = credentials_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"Cannot read {path} ({exc}); run `kitaru login URL` again.") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def token_for(base: str) -> str | None:
    """The token to send to the server at ``base``, if any is known."""
    with _tokens_lock:
        token = _tokens.get(base)
    return token or os.environ.get("KITARU_SERVER_TOKEN") or read_credentials().get(base)


class ServerConnection:
    """One HTTP connection pool to a server; raises the server's Kitaru errors here."""

    def __init__(self, url: str) -> None:
        try:
            import httpx
        except ModuleNotFoundError as exc:
            raise MissingExtraError("server", "httpx") from exc
        self.base = base_url(url)
        self._httpx = httpx
        self._client = httpx.Client(base_url=self.base, timeout=TIMEOUT_SECONDS)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request with the bearer token; the response, or the error it stands for."""
        token = token_for(self.base)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._client.request(method, path, headers=headers, **kwargs)
        except self._httpx.HTTPError as exc:
            raise StoreUnavailable(f"Cannot reach the Kitaru server at {self.base}: {exc}") from exc
        if response.status_code == 401:
            raise StoreUnavailable(
                f"The Kitaru server at {self.base} refused the token "
                f"({'none was given' if not token else 'unknown or revoked'}). Run "
                f"`kitaru login {self.base} --token TOKEN` or kitaru.connect(url, token=...)."
            )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                raise decode_error(body["error"])
            detail = body.get("detail") if isinstance(body, dict) else None
            raise StoreError(
                f"The Kitaru server at {self.base} answered {response.status_code}: "
                f"{detail or response.text[:200]}"
            )
        return response

    def close(self) -> None:
        """Close the pool."""
        self._client.close()


class HttpStore(Store):
    """A store whose calls go to a Kitaru server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = ServerConnection(url)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        body = {"args": encode(list(args)), "kwargs": encode(kwargs)}
        response = self._conn.request("POST", f"/api/store/{method}", json=body)
        return decode(response.json()["result"])

    def close(self) -> None:
        self._conn.close()

    def create_execution(self, record: ExecutionRecord) -> None:
        self._call("create_execution", record)

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        return self._call("get_execution", exec_id)

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 50,
        parent: str | None = None,
    ) -> list[ExecutionRecord]:
        return self._call("list_executions", flow=flow, status=status, limit=limit, parent=parent)

    def find_child(self, parent_exec_id: str, parent_op_id: str) -> ExecutionRecord | None:
        return self._call("find_child", parent_exec_id, parent_op_id)

    def suspend_on_children(
        self, exec_id: str, children: Sequence[str], *, expected_owner: str, **fields: Any
    ) -> bool:
        return bool(
            self._call(
                "suspend_on_children",
                exec_id,
                list(children),
                expected_owner=expected_owner,
                **fields,
            )
        )

    def wake_parent(self, exec_id: str) -> bool:
        return bool(self._call("wake_parent", exec_id))

    def count_executions(self) -> dict[str, int]:
        return self._call("count_executions")

    def update_execution(
        self, exec_id: str, *, expected_owner: str | None = None, **fields: Any
    ) -> bool:
        return bool(
            self._call("update_execution", exec_id, expected_owner=expected_owner, **fields)
        )

    def suspend_execution(
        self, exec_id: str, wait_id: str, *, expected_owner: str, **fields: Any
    ) -> bool:
        return bool(
            self._call(
                "suspend_execution", exec_id, wait_id, expected_owner=expected_owner, **fields
            )
        )

    def transition(
        self, exec_id: str, *, to: str, from_statuses: Collection[str], **fields: Any
    ) -> bool:
        return bool(
            self._call("transition", exec_id, to=to, from_statuses=list(from_statuses), **fields)
        )

    def claim_execution(
        self,
        exec_id: str,
        *,
        owner: str,
        lease_expires_at: float,
        from_statuses: Collection[str],
        expected_owner: str | None,
        check_owner: bool,
    ) -> bool:
        return bool(
            self._call(
                "claim_execution",
                exec_id,
                owner=owner,
                lease_expires_at=lease_expires_at,
                from_statuses=list(from_statuses),
                expected_owner=expected_owner,
                check_owner=check_owner,
            )
        )

    def renew_leases(self, owner: str, exec_ids: Sequence[str], lease_expires_at: float) -> None:
        self._call("renew_leases", owner, list(exec_ids), lease_expires_at)

    def load_operations(self, exec_id: str) -> list[OperationRecord]:
        return self._call("load_operations", exec_id)

    def record_operation(
        self, record: OperationRecord, logs: Sequence[LogRecord] = (), *, owner: str | None = None
    ) -> None:
        self._call("record_operation", record, list(logs), owner=owner)

    def append_logs(self, logs: Sequence[LogRecord]) -> None:
        self._call("append_logs", list(logs))

    def write_progress(
        self,
        exec_id: str,
        logs: Sequence[LogRecord],
        started: Sequence[StartedRecord] = (),
        *,
        finished: bool = False,
    ) -> None:
        self._call("write_progress", exec_id, list(logs), list(started), finished=finished)

    def load_started(self, exec_id: str) -> list[StartedRecord]:
        return self._call("load_started", exec_id)

    def get_logs(self, exec_id: str) -> list[LogRecord]:
        return self._call("get_logs", exec_id)

    def save_artifact(self, record: ArtifactRecord) -> ArtifactRecord:
        return self._call("save_artifact", record)

    def list_artifacts(
        self, *, exec_id: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[ArtifactRecord]:
        return self._call("list_artifacts", exec_id=exec_id, name=name, limit=limit)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        return self._call("get_artifact", artifact_id)

    def create_wait(self, record: WaitRecord) -> None:
        self._call("create_wait", record)

    def get_waits(self, exec_id: str) -> list[WaitRecord]:
        return self._call("get_waits", exec_id)

    def answer_wait(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        return bool(
            self._call(
                "answer_wait", exec_id, wait_id, status=status, value_codec=value_codec, value=value
            )
        )

    def answer_wait_and_queue(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        return bool(
            self._call(
                "answer_wait_and_queue",
                exec_id,
                wait_id,
                status=status,
                value_codec=value_codec,
                value=value,
            )
        )

    def reopen_wait(self, exec_id: str, wait_id: str, *, rejection: str) -> bool:
        return bool(self._call("reopen_wait", exec_id, wait_id, rejection=rejection))

    def append_adapter_log(self, *args: Any, **kwargs: Any) -> None:
        self._call("append_adapter_log", *args, **kwargs)

    def read_adapter_log(self, namespace: str, stream: str) -> list[str] | None:
        return self._call("read_adapter_log", namespace, stream)

    def list_adapter_logs(self, namespace: str, prefix: str) -> list[tuple[str, float]]:
        return [tuple(x) for x in self._call("list_adapter_logs", namespace, prefix)]

    def delete_adapter_logs(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete_adapter_logs", *args, **kwargs)

    def put_adapter_records(self, *args: Any, **kwargs: Any) -> None:
        self._call("put_adapter_records", *args, **kwargs)

    def scan_adapter_records(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("scan_adapter_records", *args, **kwargs)

    def delete_adapter_records(self, *args: Any, **kwargs: Any) -> int:
        return int(self._call("delete_adapter_records", *args, **kwargs))

    def save_deployment(
        self, record: DeploymentRecord, *, tags: Sequence[str] = ()
    ) -> tuple[DeploymentRecord, bool]:
        saved, new = self._call("save_deployment", record, tags=list(tags))
        return saved, bool(new)

    def list_deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        return self._call("list_deployments", name)

    def deployment_tags(self, name: str) -> dict[str, int]:
        return self._call("deployment_tags", name)

    def set_deployment_tag(self, name: str, tag: str, version: int, *, at: float) -> bool:
        return bool(self._call("set_deployment_tag", name, tag, version, at=at))

    def delete_deployment(
        self, name: str, version: int, *, at: float
    ) -> tuple[list[str], list[str]]:
        removed, unfinished = self._call("delete_deployment", name, version, at=at)
        return list(removed), list(unfinished)

    def list_deployment_executions(
        self,
        name: str | None,
        version: int | None,
        *,
        statuses: Collection[str] | None = None,
        limit: int = 50,
    ) -> list[ExecutionRecord]:
        return self._call(
            "list_deployment_executions",
            name,
            version,
            statuses=None if statuses is None else list(statuses),
            limit=limit,
        )


class HttpBlobStore:
    """An artifact store whose blobs travel through a Kitaru server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = ServerConnection(url)

    def put(self, data: bytes) -> str:
        """Store ``data`` on the server; its SHA-256 digest."""
        return str(self._conn.request("PUT", "/api/blobs", content=data).json()["digest"])

    def get(self, digest: str) -> bytes:
        """A blob's bytes from the server."""
        return bytes(self._conn.request("GET", f"/api/blobs/{digest}").content)

    def size(self, digest: str) -> int:
        """A blob's size."""
        return int(self._conn.request("GET", f"/api/blobs/{digest}/size").json()["size"])

    def close(self) -> None:
        """Close the connection pool."""
        self._conn.close()
