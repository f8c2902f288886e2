"""What a deployment snapshots: a flow's module and the project-local modules it imports.

Imports are read from the source (``ast``), nothing is imported. A module is *project-local*
when it resolves to a file under the snapshot's root (the folder the flow's module is imported
from: a script's folder, or the ``sys.path`` entry above its top-level package); everything
else is the standard library or a third-party package, whose installed version is recorded.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kitaru_core.errors import InvalidDeployment

ALWAYS_INSTALLED = ("kitaru", "kitaru_core")
"""Kitaru itself is never snapshotted, even when its source sits under the project root."""


@dataclass
class SnapshotFiles:
    """The files of a snapshot (relative POSIX path -> bytes) and what they need installed."""

    entry: str
    """The flow's module name inside the snapshot (``agents`` for ``agents.py``)."""
    qualname: str
    files: dict[str, bytes] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    """Distribution name -> installed version of each third-party package imported."""

    @property
    def ref(self) -> str:
        """``module:qualname`` of the flow inside the snapshot."""
        return f"{self.entry}:{self.qualname}"


def collect(entry_file: Path, entry_module: str, root: Path, qualname: str) -> SnapshotFiles:
    """Walk the imports of ``entry_module`` (the file ``entry_file`` under ``root``)."""
    root = root.resolve()
    entry_file = entry_file.resolve()
    if not entry_file.is_file():
        raise InvalidDeployment(f"Cannot deploy {entry_file}: no such file.")
    snapshot = SnapshotFiles(entry=entry_module, qualname=qualname)
    third_party: set[str] = set()
    queue = [(entry_module, entry_file)]
    for parent in _parents(entry_module, root):
        queue.append(parent)
    seen: set[str] = set()
    while queue:
        name, path = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        snapshot.files[path.relative_to(root).as_posix()] = path.read_bytes()
        for imported in _imports(path, name):
            found = _resolve_local(imported, root)
            if found is None:
                top = imported.split(".")[0]
                if top and top not in sys.stdlib_module_names:
                    third_party.add(top)
                continue
            queue.extend(found)
    snapshot.packages = installed_versions(third_party | set(ALWAYS_INSTALLED))
    return snapshot


def _parents(module: str, root: Path) -> list[tuple[str, Path]]:
    """The ``__init__.py`` files of the packages above ``module``."""
    found = []
    parts = module.split(".")
    for depth in range(1, len(parts)):
        init = root.joinpath(*parts[:depth], "__init__.py")
        if init.is_file():
            found.append((".".join(parts[:depth]), init))
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of every module ``path`` may import (``from a import b`` gives ``a`` and
    ``a.b``: ``b`` may be a submodule)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise InvalidDeployment(f"Cannot deploy: {path} does not parse ({exc}).") from exc
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            if base:
                names.add(base)
            names.update(
                f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"
            )
    return names


def _resolve_local(name: str, root: Path) -> list[tuple[str, Path]] | None:
    """The files under ``root`` that importing ``name`` runs, or None when it is not local."""
    parts = name.split(".")
    if parts[0] in ALWAYS_INSTALLED:
        return None
    found: list[tuple[str, Path]] = []
    folder = root
    for depth, part in enumerate(parts, start=1):
        module = ".".join(parts[:depth])
        package = folder / part
        if (package / "__init__.py").is_file():
            found.append((module, package / "__init__.py"))
            folder = package
        elif (folder / f"{part}.py").is_file():
            found.append((module, folder / f"{part}.py"))
            break  # what follows is an attribute of the module
        elif package.is_dir() and depth < len(parts):
            folder = package  # a namespace package: no file of its own
        else:
            break  # an attribute (``from pkg import function``), or nothing
    return found or None


def installed_versions(top_level_names: set[str]) -> dict[str, str]:
    """Distribution -> version for the installed packages providing these top-level names."""
    import importlib.metadata as metadata

    providers = metadata.packages_distributions()
    versions: dict[str, str] = {}
    for top in sorted(top_level_names):
        for distribution in providers.get(top) or ([top] if top in ALWAYS_INSTALLED else []):
            try:
                versions[distribution] = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                continue
    versions["python"] = ".".join(str(part) for part in sys.version_info[:3])
    return versions
