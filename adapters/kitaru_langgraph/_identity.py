"""The identity of a node run: its node path, the state it reads and (by the engine) its ordinal.

LangGraph's own run keys (``checkpoint_ns`` with its task ids, run ids) change at every
invocation, so they never enter an identity. What does: the names of the nodes leading to this
one (subgraphs), the node's name and the canonical JSON of its input (the state it reads, or a
``Send`` argument). The engine adds ``n``, the count of equal runs before it, which tells loops
and identical ``Send`` branches apart.

Message ids are left out: LangGraph's ``add_messages`` gives a new random id to each message
that has none (a user's ``HumanMessage``, a ``ToolMessage``) at every run, so a resumed run
sees other ids for the same conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from kitaru_core.toolkit import Identity, identity_of, type_name

_MESSAGE_VOLATILE = frozenset({"id"})
_SCALARS = (str, int, float, bool, type(None))


def graph_path(config: Mapping[str, Any] | None) -> list[str]:
    """Names of the nodes enclosing this one (subgraphs), without LangGraph's task ids."""
    if not config:
        return []
    namespace = str(config.get("configurable", {}).get("checkpoint_ns", "") or "")
    names = [part.split(":", 1)[0] for part in namespace.split("|") if part]
    return names[:-1]  # the last part is this node's own task


def node_name(config: Mapping[str, Any] | None, default: str) -> str:
    """The name this node runs under in its graph (LangGraph's run metadata), else ``default``."""
    metadata = (config or {}).get("metadata") or {}
    name = metadata.get("langgraph_node")
    return str(name) if name else default


def plain(value: Any) -> Any:
    """JSON data for ``value`` with message ids dropped and live objects as their type name."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, BaseMessage):
        data = value.model_dump(mode="json")
        return {k: plain(v) for k, v in data.items() if k not in _MESSAGE_VOLATILE}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, BaseModel):
        return {k: plain(getattr(value, k)) for k in type(value).model_fields}
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    try:
        return to_jsonable_python(value, fallback=type_name, bytes_mode="base64")
    except (ValueError, TypeError):
        return type_name(value)


def node_identity(path: list[str], node: str, state: Any, extra: Any = None) -> Identity:
    """Identity of one run of ``node`` reading ``state`` (``extra``: interrupt answers, ...)."""
    inputs: dict[str, Any] = {"node": node, "state": plain(state)}
    if path:
        inputs["graph"] = path
    if extra is not None:
        inputs["extra"] = extra
    return identity_of(inputs)


def is_plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is JSON data that round-trips unchanged (no tuples, str keys only)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if depth > 32:
        return False
    if kind is list:
        return all(is_plain_json(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(k) is str and is_plain_json(v, depth + 1) for k, v in value.items())
    return False
