"""Code snapshots of deployed flows: stored in the artifact store, loaded under a namespace.

A snapshot is a manifest blob (JSON: the flow's ``module:qualname`` and each file's relative
path and blob digest) whose SHA-256 is its identity: identical code gives the identical
snapshot. To run one, its files are written once to ``KITARU_HOME/deployments/<digest>/`` and
imported as the package ``kitaru_deploy_<digest[:16]>``, so two versions of one module live
side by side in one process. While a snapshot loads, absolute imports of its own top-level
modules (``import helpers`` in ``agents.py``) resolve to the snapshot's copies.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import secrets
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from kitaru_core.errors import FlowNotFound
from kitaru_core.store._backends import current_blob_store

if TYPE_CHECKING:
    from kitaru_core._config import Settings
    from kitaru_core.engine._snapshot_build import SnapshotFiles
    from kitaru_core.store._records import ExecutionRecord

FORMAT = 1
NAMESPACE_PREFIX = "kitaru_deploy_"
MANIFEST_FILE = ".kitaru-manifest.json"

_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}
"""Snapshot digest -> its loaded entry module."""


class DeploymentPin(NamedTuple):
    """The deployment version an execution runs: recorded on it, used by resume and replay."""

    name: str
    version: int
    snapshot: str


def manifest_of(files: SnapshotFiles, digests: dict[str, str]) -> bytes:
    """The canonical manifest bytes of ``files`` whose blobs have ``digests``."""
    manifest = {"format": FORMAT, "flow": files.ref, "files": dict(sorted(digests.items()))}
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def store_snapshot(files: SnapshotFiles, settings: Settings) -> str:
    """Write the files and the manifest to the artifact store; the manifest's digest."""
    blobs = current_blob_store(settings)
    digests = {path: blobs.put(data) for path, data in files.files.items()}
    return blobs.put(manifest_of(files, digests))


def namespace(digest: str) -> str:
    """The package name a snapshot's modules are imported under."""
    return f"{NAMESPACE_PREFIX}{digest[:16]}"


def snapshot_folder(settings: Settings, digest: str) -> Path:
    """Where a snapshot's files are written to be imported (a cache: safe to delete)."""
    return settings.home / "deployments" / digest


def materialize(digest: str, settings: Settings) -> Path:
    """The snapshot's folder, written from the artifact store first if it is not there yet.

    Every blob is hash-checked as it is read; the folder appears whole (renamed into place).
    """
    folder = snapshot_folder(settings, digest)
    if (folder / MANIFEST_FILE).is_file():
        return folder
    blobs = current_blob_store(settings)
    manifest_bytes = blobs.get(digest)
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        raise FlowNotFound(
            f"Snapshot {digest} has format {manifest.get('format')!r}; this Kitaru reads "
            f"format {FORMAT}. Upgrade Kitaru to run it."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        for relative, blob in manifest["files"].items():
            target = tmp.joinpath(*relative.split("/"))
            if ".." in Path(relative).parts or Path(relative).is_absolute():
                raise FlowNotFound(f"Snapshot {digest} names a file outside it: {relative!r}.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs.get(blob))
        (tmp / MANIFEST_FILE).write_bytes(manifest_bytes)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / MANIFEST_FILE).is_file():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a materialized snapshot."""
    manifest: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_bytes())
    return manifest


def load_snapshot(digest: str, settings: Settings) -> ModuleType:
    """The snapshot's entry module, imported under its namespace (once per process)."""
    with _lock:
        module = _loaded.get(digest)
        if module is not None:
            return module
        folder = materialize(digest, settings)
        manifest = read_manifest(folder)
        entry = manifest["flow"].partition(":")[0]
        prefix = namespace(digest)
        spec = importlib.machinery.ModuleSpec(prefix, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        package = importlib.util.module_from_spec(spec)
        sys.modules[prefix] = package
        tops = {_top_level(path) for path in manifest["files"]}
        try:
            with _local_imports_resolve_to(prefix, tops):
                module = importlib.import_module(f"{prefix}.{entry}")
        except Exception as exc:
            for name in [n for n in sys.modules if n == prefix or n.startswith(f"{prefix}.")]:
                del sys.modules[name]
            raise FlowNotFound(
                f"Cannot load the deployed snapshot {digest} (module {entry!r}): "
                f"{type(exc).__name__}: {exc}. A third-party package it imports may be missing "
                "here: `kitaru deployments show` lists the versions it was deployed with."
            ) from exc
        _loaded[digest] = module
        return module


def flow_in_snapshot(digest: str, qualname: str, settings: Settings) -> Any:
    """The ``@flow`` object called ``qualname`` in the snapshot's entry module."""
    obj: Any = load_snapshot(digest, settings)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise FlowNotFound(f"Snapshot {digest} has no flow {qualname!r}.")
    return obj


def _top_level(relative: str) -> str:
    first = relative.split("/")[0]
    return first.removesuffix(".py")


@contextmanager
def _local_imports_resolve_to(prefix: str, tops: set[str]) -> Iterator[None]:
    """While loading, ``import helpers`` gives ``<prefix>.helpers`` when ``helpers`` is one of
    the snapshot's own top-level modules; the process's own modules of those names are put
    back afterwards."""
    own = {
        name: sys.modules.pop(name)
        for name in list(sys.modules)
        if name.split(".")[0] in tops and not name.startswith(NAMESPACE_PREFIX)
    }
    finder = _Aliases(prefix, tops)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] in tops]:
            del sys.modules[name]
        sys.modules.update(own)


class _Aliases(importlib.abc.MetaPathFinder):
    def __init__(self, prefix: str, tops: set[str]) -> None:
        self.prefix = prefix
        self.tops = tops

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".")[0] not in self.tops:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(f"{self.prefix}.{fullname}"))


class _Alias(importlib.abc.Loader):
    """Loads a module by importing the namespaced one and handing it back as it is."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system set the alias's spec on it


def snapshot_of(flow_ref: str) -> str | None:
    """The digest of the loaded snapshot a flow reference points into, if it does."""
    if not flow_ref.startswith(NAMESPACE_PREFIX):
        return None
    prefix = flow_ref.partition(":")[0].split(".")[0]
    for digest in list(_loaded):
        if namespace(digest) == prefix:
            return digest
    return None


def pin_of(record: ExecutionRecord) -> DeploymentPin | None:
    """The deployment version ``record`` ran, if it was started from one."""
    if record.deployment is None or record.snapshot is None:
        return None
    return DeploymentPin(record.deployment, record.deployment_version or 0, record.snapshot)
