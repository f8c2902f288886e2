"""``kitaru server start``: run the app with uvicorn, refusing ``--no-auth`` off loopback."""

from __future__ import annotations

import ipaddress

from kitaru_core._config import Settings
from kitaru_core.errors import ConfigurationError
from kitaru_core.store._backends import current_store


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, *, host: str, port: int, auth: bool = True) -> None:
    """Serve the API and dashboard over ``settings``' stack until interrupted."""
    if not auth and not is_loopback(host):
        raise ConfigurationError(
            f"--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), "
            f"not {host!r}. Create a token with `kitaru server token create` instead."
        )
    import uvicorn

    from kitaru_core.server._app import create_app

    app = create_app(current_store(settings), settings, auth=auth)
    uvicorn.run(app, host=host, port=port, log_level="info")
