"""Stacks from Python (``kitaru.list_stacks`` ...): the client's stack functions, public here.

The functions live in the client layer so the CLI, which sits beside ``api``, shares them.
"""

from kitaru_core.client._stacks import (
    create_stack,
    current_stack,
    delete_stack,
    list_stacks,
    use_stack,
)

__all__ = ["create_stack", "current_stack", "delete_stack", "list_stacks", "use_stack"]
