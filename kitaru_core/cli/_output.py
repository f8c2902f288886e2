"""Shared rendering: rich tables for people, JSON for scripts, times, durations and values.

Everything that comes from the store (names, messages, values) is shown as plain text, never
parsed as rich markup, so a value such as ``kitaru[s3]`` prints as it is.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from kitaru_core.store._preview import to_jsonable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

STATUS_STYLES = {
    "queued": "cyan",
    "running": "blue",
    "waiting": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "started": "blue",
}
PIPE_WIDTH = 200  # piped output has no terminal width; keep table rows on one line
EMPTY = "-"


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never guesses colours from data."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if _isatty(stream) or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=stderr, width=width, highlight=False)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def print_error(message: str) -> None:
    """One red line on stderr: ``Error: <message>``."""
    from rich.text import Text

    line = " ".join(str(message).split())
    console(stderr=True).print(Text(f"Error: {line}", style="red"), soft_wrap=True)


def print_warning(message: str) -> None:
    """One yellow line on stderr: ``Warning: <message>``."""
    from rich.text import Text

    line = " ".join(str(message).split())
    console(stderr=True).print(Text(f"Warning: {line}", style="yellow"), soft_wrap=True)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout; anything JSON cannot hold becomes its ``str``."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def plain(value: Any, style: str = "") -> Text:
    """``value`` as rich text that is never read as markup."""
    from rich.text import Text

    return Text(EMPTY if value is None else str(value), style=style)


def table(*columns: str, title: str | None = None) -> Table:
    """A compact table with the given column headers."""
    from rich import box
    from rich.table import Table

    result = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for column in columns:
        result.add_column(column, no_wrap=column in ("ID", "EXECUTION"))
    return result


def status_text(status: str) -> Text:
    """An execution or operation status in its colour."""
    return plain(status, STATUS_STYLES.get(status, ""))


def format_time(timestamp: float | None) -> str:
    """A Unix timestamp as local ``YYYY-MM-DD HH:MM:SS``."""
    if timestamp is None:
        return EMPTY
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """``0.4 ms``, ``850 ms``, ``4.2 s``, ``3m 05s`` or ``2h 01m``."""
    if seconds is None:
        return EMPTY
    seconds = max(seconds, 0.0)
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes}m {rest:02d}s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h {rest // 60:02d}m"


def format_cost(cost: float) -> str:
    """A cost in dollars with enough digits for single model calls ($0.000135, $1.2500)."""
    if cost == 0 or abs(cost) >= 0.01:
        return f"${cost:.4f}"
    return f"${cost:.6f}"


def format_size(size: int) -> str:
    """A byte count as ``512 B``, ``3.1 KB``, ``2.0 MB`` or ``1.2 GB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def format_error(error: dict[str, Any] | None) -> str:
    """A stored error as ``Type: message`` (``builtins.`` left out)."""
    if not error:
        return EMPTY
    kind = str(error.get("type") or "Error").removeprefix("builtins.")
    return f"{kind}: {error.get('message', '')}"


def render_value(value: Any, *, compact: bool = False) -> str:
    """A value for people: text as it is, JSON when it has a JSON form, else ``repr``."""
    if isinstance(value, str):
        return value
    ok, data = to_jsonable(value)
    if not ok:
        return str(data)
    return json.dumps(data, indent=None if compact else 2, ensure_ascii=False)


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
