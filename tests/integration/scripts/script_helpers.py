"""A module next to ``script_flow.py``: resuming must find it from any working directory."""


def weight(index: int) -> int:
    return 3 * index + 1
