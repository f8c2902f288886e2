"""Default store plugins: SQL stores by URL scheme and fsspec artifact folders."""

from __future__ import annotations

from kitaru_core.errors import MissingExtraError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import ArtifactStore
from kitaru_core.store._store import Store

SQL_SCHEMES = ("sqlite", "postgresql")
HTTP_SCHEMES = ("kitaru+http://", "kitaru+https://")


@hookimpl(trylast=True)
def resolve_store(url: str, durability: str) -> Store | None:
    if url.startswith(
        (*HTTP_SCHEMES, "http://", "https://")
    ):  # a Kitaru server (kitaru.connect, kitaru login)
        from kitaru_core.store._http_store import HttpStore

        return HttpStore(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in SQL_SCHEMES:
        return None
    # lazy: keeps import kitaru and the CLI fast (SQLAlchemy loads when a store is opened)
    from kitaru_core.store._sql_store import SqlStore

    return SqlStore(url, durability=durability)


@hookimpl(trylast=True)
def resolve_artifact_store(url: str) -> ArtifactStore | None:
    if url.startswith(HTTP_SCHEMES):  # blobs travel through the server
        from kitaru_core.store._http_store import HttpBlobStore

        return HttpBlobStore(url)
    if url.startswith("s3://"):
        import importlib.util

        if importlib.util.find_spec("s3fs") is None:
            raise MissingExtraError("s3", "s3fs")
    # lazy: keeps import kitaru and the CLI fast (fsspec loads when an artifact store opens)
    from kitaru_core.store._artifacts import BlobStore

    return BlobStore(url)
