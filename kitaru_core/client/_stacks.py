"""Stacks from Python: ``list_stacks``, ``current_stack``, ``use_stack``, ``create_stack``,
``delete_stack``.

A stack is a named store + artifact store (+ runner) kept in ``$KITARU_HOME/config.toml``; the
``default`` stack (SQLite and a folder under ``KITARU_HOME``) needs no setup. The active stack
is chosen by, first to last: configure(stack=...), ``KITARU_STACK``, the config file's
``active_stack``, else ``default``; a run may name its own (``flow.run(..., stack=...)``).
"""

from __future__ import annotations

from kitaru_core import _stacks
from kitaru_core._config import Stack, load_settings
from kitaru_core.store._backends import check_stack


def list_stacks() -> list[Stack]:
    """Every stack, the default one first, then by name."""
    stacks = _stacks.all_stacks()
    return sorted(stacks.values(), key=lambda s: (s.name != "default", s.name))


def current_stack() -> Stack:
    """The stack this process runs flows on (the active stack)."""
    return load_settings().stack


def use_stack(name: str, *, check: bool = True) -> Stack:
    """Make ``name`` the active stack: written to the config file, and used by this process at
    once (like ``configure(stack=name)``).

    With ``check`` (the default) the stack's store and artifact store must be reachable;
    otherwise :class:`~kitaru.StackUnavailable` says which one and why, and nothing changes.
    """
    stack = _stacks.get_stack(name)
    if check:
        check_stack(stack, load_settings().durability, again=True)
    return _stacks.set_active_stack(name)


def create_stack(
    name: str,
    *,
    store: str,
    artifacts: str | None = None,
    runner: str = "local",
    check: bool = True,
    activate: bool = False,
) -> Stack:
    """Save a new stack in the config file and return it.

    ``store`` is a store URL (``sqlite:///path``, ``postgresql+psycopg://...``), ``artifacts``
    an fsspec URL (a folder, ``s3://bucket/prefix``; default: the folder under KITARU_HOME).
    A password or secret must be a ``${VAR}`` reference (resolved when the stack is used),
    never a literal: a URL holding one is refused. With ``check`` the store and artifact
    store must be reachable (:class:`~kitaru.StackUnavailable` otherwise); ``activate`` then
    makes the stack the active one.
    """
    stack = _stacks.new_stack(name, store=store, artifacts=artifacts, runner=runner)
    _stacks.refuse_taken(name)
    if check:
        check_stack(stack, load_settings().durability, again=True)
    _stacks.save_stack(stack)
    if activate:
        _stacks.set_active_stack(name)
    return stack


def delete_stack(name: str) -> Stack:
    """Remove stack ``name`` from the config file and return it; its store and artifacts are
    not touched. The default stack and the active one cannot be deleted."""
    return _stacks.remove_stack(name)
