"""Content-addressed blobs on any fsspec filesystem, checked against their hash on read.

A remote store that fails (S3 down, a dropped connection) is retried with backoff by its
client (see ``_s3_options``); what still fails becomes a :class:`StoreUnavailable` naming the
artifact store, raised before anything that refers to the blob is recorded.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

from kitaru_core.errors import (
    ArtifactCorrupted,
    ArtifactNotFound,
    KitaruError,
    StoreError,
    StoreUnavailable,
)
from kitaru_core.store._s3_options import S3_CALL_TRIES, is_s3, s3_storage_options, strip_query

RETRY_HINT = (
    "Check that the artifact store is reachable (endpoint, bucket, credentials); a flow that "
    "failed on it resumes with `kitaru executions retry ID`, reusing what it had recorded."
)


class BlobStore:
    """Blobs named by their SHA-256 under ``<root>/blobs/ab/abcdef...``."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec

        self.url = strip_query(url) if is_s3(url) else url
        if is_s3(url):
            storage_options = {**s3_storage_options(url), **storage_options}
        self._fs, root = fsspec.core.url_to_fs(self.url, **storage_options)
        if is_s3(url):
            self._fs.retries = S3_CALL_TRIES
        self._root = root.rstrip("/")
        self._local = "file" in (
            self._fs.protocol if isinstance(self._fs.protocol, tuple) else (self._fs.protocol,)
        )

    def check(self) -> None:
        """Raise StoreError unless blobs can be written here (folder writable, bucket there)."""
        if self._local:
            try:
                self._fs.makedirs(self._root, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot be created ({exc}).") from exc
            if not os.access(self._root, os.W_OK):
                raise StoreError("is not writable by this process.")
            return
        top = self._root.split("/", 1)[0]
        try:
            self._fs.invalidate_cache(top)
            self._fs.info(top)
        except FileNotFoundError as exc:
            raise StoreError(
                f"does not exist: there is no bucket {top!r}. Create it first "
                f"(e.g. `aws s3 mb s3://{top}`)."
            ) from exc
        except PermissionError as exc:
            raise StoreError(f"refused access to {top!r} ({exc}). Check the credentials.") from exc
        except Exception as exc:
            raise StoreUnavailable(f"cannot be reached ({_detail(exc)}).") from exc

    def _path(self, digest: str) -> str:
        return f"{self._root}/blobs/{digest[:2]}/{digest}"

    def put(self, data: bytes) -> str:
        """Store ``data`` once; return its SHA-256 hex digest.

        A blob already at its path is kept only if it still hashes to its name: a corrupted one
        is replaced, so storing the same bytes again (a replay, a new execution) repairs it.
        """
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        try:
            if self._intact(path, digest):
                return digest
            if self._local:
                self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
                # One temporary file per writer: threads of one process may store the same blob.
                tmp = f"{path}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
                try:
                    with open(tmp, "wb") as handle:
                        handle.write(data)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(tmp, path)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
            else:
                self._fs.pipe_file(path, data)
        except KitaruError:
            raise
        except Exception as exc:
            raise StoreUnavailable(
                f"Cannot write blob {digest} to the artifact store {self.url}: {_detail(exc)}. "
                f"Nothing that refers to it was recorded. {RETRY_HINT}"
            ) from exc
        return digest

    def _intact(self, path: str, digest: str) -> bool:
        try:
            existing: bytes = self._fs.cat_file(path)
        except FileNotFoundError:
            return False
        return hashlib.sha256(existing).hexdigest() == digest

    def size(self, digest: str) -> int:
        """The blob's size in bytes, read from the file system (not hash-checked)."""
        path = self._path(digest)
        try:
            return int(self._fs.size(path))
        except FileNotFoundError as exc:
            raise ArtifactNotFound(
                f"Blob {digest} is missing from {self.url} (expected at {path}). "
                "Restore the artifact store from a backup."
            ) from exc
        except Exception as exc:
            raise self._unreadable(digest, exc) from exc

    def get(self, digest: str) -> bytes:
        """The blob's bytes, after checking they still hash to ``digest``."""
        path = self._path(digest)
        try:
            data: bytes = self._fs.cat_file(path)
        except FileNotFoundError as exc:
            raise ArtifactNotFound(
                f"Blob {digest} is missing from {self.url} (expected at {path}). "
                "Restore the artifact store from a backup."
            ) from exc
        except Exception as exc:
            raise self._unreadable(digest, exc) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ArtifactCorrupted(
                f"Blob {digest} at {path} is corrupted: its content hashes to {actual}. "
                "The stored value cannot be trusted; restore it from a backup or replay the "
                "execution from the operation that produced it."
            )
        return data

    def _unreadable(self, digest: str, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"Cannot read blob {digest} from the artifact store {self.url}: {_detail(exc)}. "
            f"{RETRY_HINT}"
        )


def _detail(exc: BaseException) -> str:
    """The first line of ``exc``, with its type when the message alone says little."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
