"""``kitaru.connect``: use a Kitaru server as this process's store and artifact store."""

from __future__ import annotations

from kitaru_core._config import Settings, configure
from kitaru_core.errors import ConfigurationError
from kitaru_core.store._http_store import SCHEMES, base_url, remember_token


def server_store_url(url: str) -> str:
    """``kitaru+http(s)://...`` for a server URL given as ``http(s)://HOST:PORT``."""
    url = url.strip().rstrip("/")
    if url.startswith(SCHEMES):
        return url
    if url.startswith(("http://", "https://")):
        return f"kitaru+{url}"
    raise ConfigurationError(
        f"{url!r} is not a server URL; write it as http://HOST:PORT (e.g. http://127.0.0.1:8383)."
    )


def connect(url: str, *, token: str | None = None) -> Settings:
    """Run flows and ``KitaruClient`` of this process against the Kitaru server at ``url``:
    executions, logs and artifacts all go through it, with ``token`` (else
    ``KITARU_SERVER_TOKEN`` or the one ``kitaru login`` saved)."""
    store_url = server_store_url(url)
    remember_token(base_url(store_url), token)
    return configure(store_url=store_url, artifact_url=store_url)
