"""``client.deployments``: publish a flow's code as a version, route tags, invoke by name."""

from __future__ import annotations

import builtins
import importlib.util
import inspect
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.client._handle import FlowHandle
from kitaru_core.client._handoff import hand_off
from kitaru_core.engine._code import is_flow, locate
from kitaru_core.engine._runner import aexecute, create_execution, execute
from kitaru_core.engine._snapshot_build import SnapshotFiles, collect
from kitaru_core.engine._snapshots import (
    NAMESPACE_PREFIX,
    DeploymentPin,
    flow_in_snapshot,
    store_snapshot,
)
from kitaru_core.errors import DeploymentNotFound, InvalidDeployment
from kitaru_core.runners._queue import queue_execution
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._records import DeploymentRecord
from kitaru_core.store._store import Store

DEFAULT_TAG = "default"
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")
_VERSION = re.compile(r"v?([0-9]+)")


def parse_version(version: int | str) -> int:
    """``3``, ``"3"`` or ``"v3"`` as the number 3."""
    if isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    match = _VERSION.fullmatch(str(version).strip())
    if match is None or int(match.group(1)) < 1:
        raise InvalidDeployment(
            f"{version!r} is not a deployment version: give a number like 3 or v3."
        )
    return int(match.group(1))


def check_tag(tag: str) -> str:
    """``tag`` if it is a usable tag name (a letter or _ first, then letters, digits, _.-)."""
    if not _TAG.fullmatch(tag) or _VERSION.fullmatch(tag):
        raise InvalidDeployment(
            f"{tag!r} is not a valid tag: start with a letter or _, then letters, digits, "
            "_ . or - (at most 100), and do not look like a version (v3)."
        )
    return tag


class DeploymentsAPI:
    """``client.deployments``: versions of published flows and invocations of them."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    # publishing -----------------------------------------------------------------------

    def deploy(
        self,
        flow: Any,
        *,
        name: str | None = None,
        tags: Sequence[str] = (),
        default: bool = True,
    ) -> DeploymentRecord:
        """Save a snapshot of ``flow``'s code as the next version of ``name`` (the flow's
        name by default) and point ``tags`` (and ``default``, unless ``default=False``) at it.

        ``flow`` is a ``@flow`` object, ``"path/to/file.py:flow_name"`` or ``"module:flow_name"``.
        Identical code gives the same version back (its tags are moved all the same).
        """
        tags = [check_tag(tag) for tag in tags]
        if default and DEFAULT_TAG not in tags:
            tags.append(DEFAULT_TAG)
        files, source = _snapshot_files(flow)
        digest = store_snapshot(files, self._settings)
        loaded = flow_in_snapshot(digest, files.qualname, self._settings)
        if not is_flow(loaded):
            raise InvalidDeployment(
                f"{files.qualname!r} in {source} is not a @flow. Decorate it with @kitaru.flow."
            )
        deployment_name = name or loaded.name
        from kitaru_core.engine._runtime import check_storable

        check_storable("Deployment name", deployment_name)
        record = DeploymentRecord(
            name=deployment_name,
            version=0,
            snapshot=digest,
            flow_ref=files.ref,
            created_at=time.time(),
            source=source,
            packages=files.packages,
        )
        stored, created = self._store.save_deployment(record, tags=tags)
        shown = self.show(stored.name, version=stored.version)
        shown.new = created
        return shown

    # reading --------------------------------------------------------------------------

    def list(self, name: str | None = None) -> builtins.list[DeploymentRecord]:
        """Deployed versions (of ``name``) with their tags: by name, newest version first."""
        found = self._store.list_deployments(name)
        if name is not None and not found:
            raise self._unknown_name(name)
        return found

    def show(
        self, name: str, *, version: int | str | None = None, tag: str | None = None
    ) -> DeploymentRecord:
        """One version: by ``version``, by ``tag``, else the one tagged ``default``."""
        return self.resolve(name, tag=tag, version=version)

    def resolve(
        self, name: str, *, tag: str | None = None, version: int | str | None = None
    ) -> DeploymentRecord:
        """The version an invocation of ``name`` with ``tag`` or ``version`` runs; an unknown
        name, tag or version is a :class:`DeploymentNotFound` naming what exists."""
        if tag is not None and version is not None:
            raise InvalidDeployment("Give a tag or a version, not both.")
        versions = self._store.list_deployments(name)
        if not versions:
            raise self._unknown_name(name)
        tags = self._store.deployment_tags(name)
        if version is None:
            wanted = tag or DEFAULT_TAG
            if wanted not in tags:
                raise DeploymentNotFound(
                    f"Deployment {name!r} has no tag {wanted!r}. {_what_exists(versions, tags)}"
                    f" Point one with `kitaru deployments tag {name} VERSION {wanted}`."
                )
            number = tags[wanted]
        else:
            number = parse_version(version)
        for record in versions:
            if record.version == number:
                return record
        raise DeploymentNotFound(
            f"Deployment {name!r} has no version v{number}. {_what_exists(versions, tags)}"
        )

    def _unknown_name(self, name: str) -> DeploymentNotFound:
        names = sorted({record.name for record in self._store.list_deployments()})
        known = f"Deployed flows: {', '.join(names)}." if names else "Nothing is deployed yet."
        return DeploymentNotFound(
            f"No deployment is named {name!r}. {known} Publish one with "
            "`kitaru deploy path/to/file.py:flow_name`."
        )

    # changing -------------------------------------------------------------------------

    def tag(self, name: str, version: int | str, tag: str) -> DeploymentRecord:
        """Point ``tag`` at ``version`` of ``name`` (moving it from where it was)."""
        check_tag(tag)
        record = self.resolve(name, version=version)
        if not self._store.set_deployment_tag(name, tag, record.version, at=time.time()):
            raise DeploymentNotFound(f"Deployment {name!r} v{record.version} was just deleted.")
        return self.resolve(name, version=record.version)

    def delete(self, name: str, version: int | str) -> builtins.list[str]:
        """Delete a version (refused while executions of it are unfinished); the tags that
        pointed at it, removed with it. Its number is never given to another snapshot."""
        record = self.resolve(name, version=version)
        removed, unfinished = self._store.delete_deployment(name, record.version, at=time.time())
        if unfinished:
            shown = ", ".join(unfinished[:5]) + (" ..." if len(unfinished) > 5 else "")
            raise InvalidDeployment(
                f"Cannot delete {name!r} v{record.version}: {len(unfinished)} execution(s) of it "
                f"are unfinished ({shown}). Let them finish or cancel them with "
                "`kitaru executions cancel ID`, then delete it."
            )
        return removed

    # invoking -------------------------------------------------------------------------

    def load(
        self, name: str, *, tag: str | None = None, version: int | str | None = None
    ) -> tuple[DeploymentRecord, Any]:
        """The version that ``tag``/``version`` selects, and its flow loaded from its snapshot."""
        record = self.resolve(name, tag=tag, version=version)
        qualname = record.flow_ref.partition(":")[2]
        return record, flow_in_snapshot(record.snapshot, qualname, self._settings)

    def invoke(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        tag: str | None = None,
        version: int | str | None = None,
    ) -> FlowHandle:
        """Start an execution of deployment ``name`` (its ``default`` tag unless ``tag`` or
        ``version`` says otherwise) with keyword ``args``, running that version's snapshot.

        Arguments that do not fit the flow's signature are refused before anything runs. On a
        local stack the execution runs here and the handle is returned when it stops; on a
        worker stack it is queued.
        """
        flow, arguments, pin, queued = self._start(name, args, tag=tag, version=version)
        settings = self._settings
        if queued is not None:
            return FlowHandle(queued, store=self._store, settings=settings)
        run = create_execution(flow, arguments, settings=settings, deployment=pin)
        if flow.is_async:
            import asyncio

            return FlowHandle.of(asyncio.run(aexecute(flow, run, arguments)))
        return FlowHandle.of(execute(flow, run, arguments))

    def hand_off_invoke(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        tag: str | None = None,
        version: int | str | None = None,
    ) -> str:
        """:meth:`invoke`, but never run in this process (a server's or an MCP tool's): queued
        for the stack's workers, or run by a detached ``kitaru executions resume`` process.
        Returns the new execution's id at once; bad arguments are refused before anything."""
        flow, arguments, pin, queued = self._start(name, args, tag=tag, version=version)
        if queued is not None:
            return queued
        settings = self._settings
        run = create_execution(flow, arguments, settings=settings, deployment=pin, queued=True)
        hand_off(self._store, settings, run.exec_id, "resume")
        return run.exec_id

    def _start(
        self,
        name: str,
        args: dict[str, Any] | None,
        *,
        tag: str | None,
        version: int | str | None,
    ) -> tuple[Any, dict[str, Any], DeploymentPin, str | None]:
        """The flow of the version to run, its checked arguments and pin; on a worker stack
        the execution is queued here and its id is the last item (None on a local stack)."""
        record, flow = self.load(name, tag=tag, version=version)
        arguments = bind_arguments(record, flow.signature, args)
        pin = DeploymentPin(record.name, record.version, record.snapshot)
        queued = None
        if not runner_for(self._settings).in_process:
            queued = queue_execution(flow, arguments, settings=self._settings, deployment=pin)
        return flow, arguments, pin, queued


def bind_arguments(
    record: DeploymentRecord, signature: inspect.Signature, args: dict[str, Any] | None
) -> dict[str, Any]:
    """``args`` by parameter name with defaults applied, or :class:`InvalidDeployment`."""
    if args is not None and not isinstance(args, dict):
        raise InvalidDeployment(
            f"Arguments of {record.name!r} are given by name, as a JSON object / dict, "
            f"not {type(args).__name__}."
        )
    try:
        bound = signature.bind(**(args or {}))
    except TypeError as exc:
        raise InvalidDeployment(
            f"Cannot invoke {record.name!r} v{record.version}: {exc} (its signature is "
            f"{record.flow_ref.partition(':')[2]}{signature}). Nothing ran."
        ) from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _what_exists(versions: Sequence[DeploymentRecord], tags: dict[str, int]) -> str:
    shown_versions = ", ".join(f"v{r.version}" for r in sorted(versions, key=lambda r: r.version))
    shown_tags = ", ".join(f"{tag} -> v{number}" for tag, number in sorted(tags.items()))
    return f"Versions: {shown_versions}; tags: {shown_tags or 'none'}."


def _snapshot_files(flow: Any) -> tuple[SnapshotFiles, str]:
    """What to snapshot for ``flow`` (an object or a ``file.py:name``/``module:name`` text),
    and where it came from."""
    if isinstance(flow, str):
        return _files_of_target(flow)
    if not is_flow(flow):
        raise InvalidDeployment(f"{flow!r} is not a @flow; deploy a flow or 'file.py:flow_name'.")
    module_name = flow.func.__module__
    if module_name.startswith(NAMESPACE_PREFIX):
        raise InvalidDeployment(
            f"Flow {flow.name!r} was loaded from a deployment; deploy it from its source file."
        )
    _, script, code_dir = locate(flow.func)
    qualname = flow.func.__qualname__
    if script is not None:
        path = Path(script)
        return collect(path, _module_name_of(path), path.parent, qualname), str(path)
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if file is None or code_dir is None:
        raise InvalidDeployment(
            f"Flow {flow.name!r} was defined interactively; put it in a file and deploy that."
        )
    return collect(Path(file), module_name, Path(code_dir), qualname), file


def _files_of_target(target: str) -> tuple[SnapshotFiles, str]:
    where, sep, qualname = target.rpartition(":")
    if not sep or not where or not qualname:
        raise InvalidDeployment(
            f"{target!r} does not say which flow: write path/to/file.py:flow_name "
            "or package.module:flow_name."
        )
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).resolve()
        if not path.is_file():
            raise InvalidDeployment(f"Cannot deploy {target!r}: there is no file {path}.")
        return collect(path, _module_name_of(path), path.parent, qualname), str(path)
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        spec = importlib.util.find_spec(where)
    except (ImportError, ValueError) as exc:
        raise InvalidDeployment(f"Cannot find module {where!r}: {exc}.") from exc
    if spec is None or not spec.origin or not spec.has_location:
        raise InvalidDeployment(
            f"Cannot find module {where!r} from {cwd}; give its file path instead."
        )
    path = Path(spec.origin).resolve()
    depth = where.count(".") + (1 if path.name == "__init__.py" else 0)
    return collect(path, where, path.parents[depth], qualname), str(path)


def _module_name_of(path: Path) -> str:
    if not path.stem.isidentifier():
        raise InvalidDeployment(
            f"Cannot deploy {path}: {path.stem!r} is not a valid module name. Rename the file "
            "(letters, digits and _)."
        )
    return path.stem
