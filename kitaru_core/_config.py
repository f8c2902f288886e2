"""Settings: KITARU_HOME, the config file, environment variables and ``kitaru.configure``."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from kitaru_core.errors import ConfigurationError

Durability = Literal["process", "power"]
DURABILITY_MODES: tuple[str, ...] = ("process", "power")
CONFIG_FILE_NAME = "config.toml"
DEFAULT_STACK = "default"


@dataclass(frozen=True)
class Stack:
    """A named pair of execution store and artifact store."""

    name: str
    store_url: str
    artifact_url: str
    runner: str = "local"


@dataclass(frozen=True)
class Settings:
    """Everything the runtime needs to know about where and how to record."""

    home: Path
    stack: Stack
    durability: Durability = "process"
    models: dict[str, str] = field(default_factory=dict)
    inline_limit: int = 64 * 1024
    lease_seconds: float = 60.0
    """How long a running execution's lease lasts without a heartbeat."""
    log_flush_seconds: float = 0.5
    """How often a running execution writes what it printed and which operations are in flight."""


def kitaru_home() -> Path:
    """The folder that holds the default store, artifacts and config file."""
    return Path(os.environ.get("KITARU_HOME") or Path.home() / ".kitaru").expanduser()


def config_path() -> Path:
    """Where the config file lives."""
    return kitaru_home() / CONFIG_FILE_NAME


def default_stack(home: Path) -> Stack:
    """The embedded stack: SQLite and a local folder under ``home``."""
    return Stack(DEFAULT_STACK, f"sqlite:///{home / 'kitaru.db'}", str(home / "artifacts"))


def read_config_file() -> dict[str, Any]:
    """The parsed config file, or an empty dict when there is none."""
    path = config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"The config file {path} is not valid TOML ({exc}). Fix or delete it."
        ) from exc


def write_config_file(data: dict[str, Any]) -> None:
    """Write the config file atomically."""
    import tomli_w

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data))
    tmp.replace(path)


def stacks_from_config(data: dict[str, Any], home: Path) -> dict[str, Stack]:
    """All stacks: the default one plus those in the config file."""
    stacks = {DEFAULT_STACK: default_stack(home)}
    for name, entry in (data.get("stacks") or {}).items():
        if not isinstance(entry, dict) or "store" not in entry:
            raise ConfigurationError(
                f"Stack {name!r} in {config_path()} needs a 'store' URL "
                "(and optionally 'artifacts')."
            )
        artifacts = entry.get("artifacts") or str(home / "artifacts")
        runner = str(entry.get("runner") or "local")
        stacks[name] = Stack(name, str(entry["store"]), str(artifacts), runner)
    return stacks


_overrides: dict[str, Any] = {}
_cached: Settings | None = None


def load_settings() -> Settings:
    """Current settings: configure() overrides, then environment, then config file."""
    global _cached
    if _cached is not None:
        return _cached
    home = kitaru_home()
    if home.exists() and not home.is_dir():
        raise ConfigurationError(
            f"KITARU_HOME ({home}) is a file, not a folder. Point KITARU_HOME at a folder "
            "(it is created when missing), or move that file away."
        )
    data = read_config_file()
    stacks = stacks_from_config(data, home)
    stack_name = (
        _overrides.get("stack") or os.environ.get("KITARU_STACK") or data.get("active_stack")
    ) or DEFAULT_STACK
    if stack_name not in stacks:
        raise ConfigurationError(
            f"Unknown stack {stack_name!r}. Known stacks: {', '.join(sorted(stacks))}. "
            f"Add a [stacks.{stack_name}] table (store, artifacts) to {config_path()}."
        )
    stack = stacks[stack_name]
    store_url = _overrides.get("store_url") or os.environ.get("KITARU_STORE_URL")
    artifact_url = _overrides.get("artifact_url") or os.environ.get("KITARU_ARTIFACT_URL")
    if store_url or artifact_url:
        stack = replace(
            stack,
            store_url=store_url or stack.store_url,
            artifact_url=artifact_url or stack.artifact_url,
        )
    durability = (
        _overrides.get("durability")
        or os.environ.get("KITARU_DURABILITY")
        or data.get("durability")
        or "process"
    )
    if durability not in DURABILITY_MODES:
        raise ConfigurationError(
            f"durability must be one of {', '.join(DURABILITY_MODES)}, not {durability!r}."
        )
    models = {**(data.get("models") or {}), **(_overrides.get("models") or {})}
    _cached = Settings(
        home=home,
        stack=stack,
        durability=cast(Durability, durability),
        models=models,
        lease_seconds=_seconds_setting(data, "lease_seconds"),
        log_flush_seconds=_seconds_setting(data, "log_flush_seconds"),
    )
    return _cached


SECONDS_SETTINGS = {"lease_seconds": math.inf, "log_flush_seconds": 3600.0}
"""Settings that are a number of seconds, with the largest value each accepts."""


def _seconds_setting(data: dict[str, Any], name: str) -> float:
    """``name`` from configure(), ``KITARU_<NAME>`` or the config file, else its default."""
    for value in (_overrides.get(name), os.environ.get(f"KITARU_{name.upper()}"), data.get(name)):
        if value is not None and value != "":
            return positive_seconds(value, name)
    return float(getattr(Settings, name))


def positive_seconds(value: Any, name: str = "lease_seconds") -> float:
    """``value`` as a number of seconds for setting ``name``, or ConfigurationError."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    upper = SECONDS_SETTINGS[name]
    if not (math.isfinite(seconds) and 0 < seconds <= upper):
        bound = "" if math.isinf(upper) else f" and at most {upper:g}"
        raise ConfigurationError(
            f"{name} must be a positive number of seconds{bound}, not {value!r} "
            f"(set by configure(), KITARU_{name.upper()} or the config file)."
        )
    return seconds


def configure(**overrides: Any) -> Settings:
    """Override settings for this process (stack, store and artifact URLs, durability, models,
    lease_seconds, log_flush_seconds)."""
    global _cached
    allowed = {"stack", "store_url", "artifact_url", "durability", "models", *SECONDS_SETTINGS}
    unknown = set(overrides) - allowed
    if unknown:
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(sorted(unknown))}; "
            f"configure() takes {', '.join(sorted(allowed))}."
        )
    for key, value in overrides.items():
        if value is None:
            _overrides.pop(key, None)
        elif key == "models":
            _overrides["models"] = {**_overrides.get("models", {}), **value}
        elif key in SECONDS_SETTINGS:
            _overrides[key] = positive_seconds(value, key)
        else:
            _overrides[key] = value
    _cached = None
    return load_settings()


def reset() -> None:
    """Forget overrides and cached settings (tests, ``KITARU_HOME`` changes)."""
    global _cached
    _overrides.clear()
    _cached = None


def settings_for_stack(name: str) -> Settings:
    """Current settings, but on the stack called ``name``."""
    settings = load_settings()
    if name == settings.stack.name:
        return settings
    stacks = stacks_from_config(read_config_file(), settings.home)
    if name not in stacks:
        raise ConfigurationError(
            f"Unknown stack {name!r}. Known stacks: {', '.join(sorted(stacks))}."
        )
    return replace(settings, stack=stacks[name])
