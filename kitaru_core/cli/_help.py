"""Help output: flags are listed without a value type.

Typer's rich help prints a parameter's metavar, else its type (``<bool>``), in the type column,
also for flags, which take no value. An empty metavar leaves that column blank for them.
"""

from __future__ import annotations

from typing import Any


def hide_flag_types(command: Any) -> None:
    """Give every flag under ``command`` (``--help`` included) an empty metavar."""
    help_option = command.get_help_option(command.context_class(command))
    params = [*command.params, *([help_option] if help_option is not None else [])]
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        hide_flag_types(sub)
