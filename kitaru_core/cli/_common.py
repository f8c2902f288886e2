"""What every command shares: the ``--json`` option and opening the client of the active stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from kitaru_core.client import KitaruClient

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def open_client() -> KitaruClient:
    """The client of the active stack (imported here so ``kitaru --help`` stays fast)."""
    # lazy: keeps kitaru --help fast (the client loads the engine and the store)
    from kitaru_core.client import KitaruClient

    return KitaruClient()
