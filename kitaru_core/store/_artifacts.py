"""Content-addressed blobs on any fsspec filesystem, checked against their hash on read."""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

from kitaru_core.errors import ArtifactCorrupted, ArtifactNotFound, StoreError


class BlobStore:
    """Blobs named by their SHA-256 under ``<root>/blobs/ab/abcdef...``."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec

        self.url = url
        self._fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self._root = root.rstrip("/")
        self._local = "file" in (
            self._fs.protocol if isinstance(self._fs.protocol, tuple) else (self._fs.protocol,)
        )

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
        except OSError as exc:
            raise StoreError(f"Cannot write blob {digest} to {self.url}: {exc}") from exc
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
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ArtifactCorrupted(
                f"Blob {digest} at {path} is corrupted: its content hashes to {actual}. "
                "The stored value cannot be trusted; restore it from a backup or replay the "
                "execution from the operation that produced it."
            )
        return data
