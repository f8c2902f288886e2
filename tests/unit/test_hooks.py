"""Every hook is documented with its signature, and the built-in plugins use the hook spec."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

from kitaru_core import hookspecs
from kitaru_core.plugins import get_plugin_manager, list_plugins, register_plugin, unregister_plugin

REPO_ROOT = Path(__file__).resolve().parents[2]


def _hook_names() -> list[str]:
    return [
        name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "kitaru_spec")
    ]


def test_every_hook_is_documented_with_its_signature() -> None:
    docs = (REPO_ROOT / "docs" / "plugins" / "hooks.md").read_text()
    names = _hook_names()
    assert names, "no hook specs found"
    for name in names:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"## {name}({params})" in docs, f"docs/plugins/hooks.md lacks '## {name}({params})'"


DOTTED_NAME = re.compile(r"`(kitaru_core(?:\.\w+)+)")


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def test_hooks_page_names_only_public_types() -> None:
    docs = (REPO_ROOT / "docs" / "plugins" / "hooks.md").read_text()
    names = set(DOTTED_NAME.findall(docs))
    assert "kitaru_core.hooktypes.LLMRequest" in names, "the page no longer names the hook types"
    private = sorted(name for name in names if "._" in name)
    assert not private, f"docs/plugins/hooks.md points plugin authors at private names: {private}"
    for name in names:
        _resolve(name)  # every documented name exists


def _spec_hints(name: str) -> dict[str, Any]:
    import typer

    from kitaru_core.store import Store

    return typing.get_type_hints(getattr(hookspecs, name), localns={"Store": Store, "typer": typer})


def test_our_hook_implementations_have_the_hook_spec_types() -> None:
    """mypy checks each hook body against its annotations; this pins those to the spec's."""
    checked = 0
    for plugin in get_plugin_manager().get_plugins():
        module = getattr(plugin, "__name__", "")
        if not module.startswith(("kitaru_core.", "kitaru_pydantic_ai.", "kitaru_litellm.")):
            continue
        for name in _hook_names():
            impl = getattr(plugin, name, None)
            if impl is None:
                continue
            spec, hints = _spec_hints(name), typing.get_type_hints(impl)
            for param in [*inspect.signature(impl).parameters, "return"]:
                assert hints.get(param) == spec[param], f"{module}.{name}: {param}"
            checked += 1
    assert checked >= 3  # the built-in serializers and both store hooks, at least


def test_every_hook_spec_is_registered() -> None:
    registered = {name for name in dir(get_plugin_manager().hook) if not name.startswith("_")}
    assert set(_hook_names()) <= registered


def test_builtin_plugins_are_listed() -> None:
    names = {info.name for info in list_plugins()}
    assert {"builtin_serializers", "builtin_stores"} <= names


def test_events_reach_a_registered_plugin() -> None:
    import kitaru

    seen: list[tuple[str, str]] = []

    class Observer:
        @hookspecs.hookimpl
        def on_operation_event(self, event: str, operation: object) -> None:
            seen.append((event, operation.name))  # type: ignore[attr-defined]

        @hookspecs.hookimpl
        def on_execution_event(self, event: str, execution: object) -> None:
            seen.append((event, execution.flow_name))  # type: ignore[attr-defined]

    @kitaru.checkpoint
    def double(x: int) -> int:
        return 2 * x

    @kitaru.flow
    def observed(x: int) -> int:
        return double(x)

    name = register_plugin(Observer(), name="observer")
    try:
        assert observed(2) == 4
    finally:
        unregister_plugin(name)
    assert seen == [
        ("started", "observed"),
        ("started", "double"),
        ("completed", "double"),
        ("completed", "observed"),
    ]


def test_a_replays_reused_operation_is_reported_once_as_reused_by_the_replay() -> None:
    import kitaru

    seen: list[tuple[str, str, str, str | None]] = []

    class Observer:
        @hookspecs.hookimpl
        def on_operation_event(self, event: str, operation: Any) -> None:
            seen.append((event, operation.name, operation.exec_id, operation.reused_from))

    @kitaru.checkpoint
    def first(x: int) -> int:
        return x + 1

    @kitaru.checkpoint
    def second(x: int) -> int:
        return x * 10

    @kitaru.flow
    def replayed(x: int) -> int:
        return second(first(x))

    source = replayed.run(1)
    assert source.wait() == 20
    name = register_plugin(Observer(), name="observer")
    try:
        replay = kitaru.KitaruClient().executions.replay(source.exec_id, from_="second")
        assert replay.wait() == 20
    finally:
        unregister_plugin(name)
    assert seen == [
        ("reused", "first", replay.exec_id, source.exec_id),
        ("started", "second", replay.exec_id, None),
        ("completed", "second", replay.exec_id, None),
    ]


def test_import_kitaru_stays_light() -> None:
    heavy = [
        *("sqlalchemy", "alembic", "pydantic", "pluggy", "fsspec", "typer", "rich", "litellm"),
        *("jsonschema", "procrastinate", "celery", "psycopg", "agents", "openai"),
    ]
    code = f"import sys, kitaru; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "", f"import kitaru pulled in: {out.stdout.strip()}"
