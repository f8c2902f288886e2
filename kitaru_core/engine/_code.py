"""Finding a flow's code again in another process: by ``module:qualname`` or by script path."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kitaru_core.errors import FlowNotFound
from kitaru_core.store._serialization import MAIN_MODULE_ALIASES, SCRIPT_MODULE

if TYPE_CHECKING:
    from kitaru_core._config import Settings
    from kitaru_core.store._records import ExecutionRecord

_flows: dict[str, Any] = {}
_registered: weakref.WeakSet[Any] = weakref.WeakSet()


class FlowLike(Protocol):
    """A flow as the engine sees it (``kitaru_core.api.Flow`` is one): what the runner runs."""

    @property
    def name(self) -> str: ...
    @property
    def func(self) -> Callable[..., Any]: ...
    @property
    def ref(self) -> str: ...
    @property
    def file(self) -> str | None: ...
    @property
    def code_dir(self) -> str | None: ...
    @property
    def stack(self) -> str | None: ...
    @property
    def retries(self) -> int: ...
    @property
    def is_async(self) -> bool: ...
    @property
    def signature(self) -> inspect.Signature: ...


def register_flow(flow: Any) -> None:
    """Remember a flow object under its ``module:qualname`` reference."""
    _flows[flow.ref] = flow
    _registered.add(flow)


def is_flow(obj: Any) -> bool:
    """Whether ``obj`` is a ``@flow`` (one that :func:`register_flow` saw)."""
    try:
        return obj in _registered
    except TypeError:  # not hashable, so not a flow
        return False


_checkpoints: weakref.WeakSet[Any] = weakref.WeakSet()


def register_checkpoint(checkpoint: Any) -> None:
    """Remember a loaded checkpoint object (a replay checks overrides against its annotation)."""
    _checkpoints.add(checkpoint)


def checkpoints_named(name: str) -> list[Any]:
    """The loaded checkpoints called ``name``."""
    return [c for c in list(_checkpoints) if c.name == name]


def locate(func: Any) -> tuple[str, str | None, str | None]:
    """``(ref, script file, code dir)`` recorded so the flow can be imported again."""
    module_name = func.__module__
    ref = f"{module_name}:{func.__qualname__}"
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if file is None:
        return ref, None, None
    path = Path(file).resolve()
    if module_name in ("__main__", SCRIPT_MODULE):
        return f"__main__:{func.__qualname__}", str(path), str(path.parent)
    depth = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
    return ref, None, str(path.parents[depth])


def _load_script(path: str) -> Any:
    existing = sys.modules.get(SCRIPT_MODULE)
    if existing is not None and getattr(existing, "__file__", None) == path:
        return existing
    if not Path(path).exists():
        raise FlowNotFound(
            f"The script {path} that defined this flow no longer exists. "
            "Restore it, then resume again."
        )
    spec = importlib.util.spec_from_file_location(SCRIPT_MODULE, path)
    if spec is None or spec.loader is None:
        raise FlowNotFound(f"Cannot load the flow script {path}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[SCRIPT_MODULE] = module
    if SCRIPT_MODULE not in MAIN_MODULE_ALIASES:
        MAIN_MODULE_ALIASES.append(SCRIPT_MODULE)
    parent = str(Path(path).parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    spec.loader.exec_module(module)
    return module


def _resolve(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def load_flow(record: ExecutionRecord, settings: Settings | None = None) -> Any:
    """The flow object that ran ``record``, importing its code if needed.

    An execution started from a deployment loads its pinned snapshot (from the artifact store
    of ``settings``, the active stack's by default), never the code on this machine's path.
    """
    module_name, _, qualname = record.flow_ref.partition(":")
    known = _flows.get(record.flow_ref)
    if known is not None and (module_name != "__main__" or _same_script(known, record)):
        return known
    module: Any
    try:
        if record.snapshot:
            from kitaru_core._config import load_settings
            from kitaru_core.engine._snapshots import load_snapshot

            load_snapshot(record.snapshot, settings or load_settings())
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
        elif module_name == "__main__":
            main = sys.modules.get("__main__")
            if (
                record.flow_file
                and getattr(main, "__file__", None)
                and str(
                    Path(main.__file__).resolve()  # type: ignore[union-attr, arg-type]
                )
                == record.flow_file
            ):
                module = main
            elif record.flow_file:
                module = _load_script(record.flow_file)
            else:
                raise FlowNotFound(
                    f"Flow {record.flow_name!r} ran in an interactive session; "
                    "its code cannot be imported again. Put it in a module or script."
                )
        else:
            if record.code_dir and record.code_dir not in sys.path:
                sys.path.append(record.code_dir)
            module = importlib.import_module(module_name)
        flow = _resolve(module, qualname)
    except FlowNotFound:
        raise
    except Exception as exc:
        raise FlowNotFound(
            f"Cannot import flow {record.flow_name!r} from {record.flow_ref!r}"
            f"{f' ({record.flow_file})' if record.flow_file else ''}: {exc}. "
            "Run the resume from a place where that code is importable."
        ) from exc
    if flow not in _registered:  # only what register_flow saw (every @flow) is a flow
        raise FlowNotFound(f"{record.flow_ref!r} is not a @flow any more.")
    return flow


def _same_script(flow: Any, record: ExecutionRecord) -> bool:
    _, file, _ = locate(flow.func)
    return file == record.flow_file
