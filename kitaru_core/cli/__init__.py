"""The ``kitaru`` command line: executions, artifacts, plugins and status.

``app`` is the root Typer app; ``executions_app`` and ``artifacts_app`` are its groups, which
plugins and other modules may extend (see ``kitaru_core.cli._app``).
"""

from kitaru_core.cli._app import app, create_app, main
from kitaru_core.cli._artifacts import artifacts_app
from kitaru_core.cli._executions import executions_app

__all__ = ["app", "artifacts_app", "create_app", "executions_app", "main"]
