"""Stacks in the config file: create, delete, choose; ``${VAR}`` references in their URLs.

A stack's URLs are stored as written. A password or secret is never written in clear: the URL
names an environment variable (``postgresql+psycopg://app:${PGPASSWORD}@db/kitaru``) that is
read each time the stack is opened (:func:`expand_env`).
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from kitaru_core import _config
from kitaru_core._config import (
    DEFAULT_STACK,
    Stack,
    config_path,
    kitaru_home,
    load_settings,
    read_config_file,
    stacks_from_config,
    write_config_file,
)
from kitaru_core.errors import ConfigurationError

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
RUNNER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
CLEAR_SECRET_KEYS = ("password", "secret", "token", "sslkey", "passphrase")
"""Query keys whose value ``stack create`` refuses in clear."""
StackSource = Literal["configure", "KITARU_STACK", "config file", "default"]


def expand_env(url: str, *, what: str = "URL") -> str:
    """``url`` with each ``${VAR}`` replaced by that environment variable's value.

    A reference in the user part (``user:${PASSWORD}@host``) or a query value is URL-quoted, so
    a password holding ``@`` or ``/`` works as it is; a reference anywhere else is put in as it
    is (a whole URL, a host, a path). An unset variable is a ConfigurationError naming it.
    """
    if "${" not in url:
        return url
    quoted = _quoted_spans(url)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = os.environ.get(name)
        if found is None:
            raise ConfigurationError(
                f"The {what} {url!r} refers to ${{{name}}}, which is not set in the "
                f"environment. Set {name} (e.g. `export {name}=...`) before using this stack."
            )
        inside = any(start <= match.start() < end for start, end in quoted)
        return quote(found, safe="") if inside else found

    return REFERENCE.sub(value, url)


def _quoted_spans(url: str) -> list[tuple[int, int]]:
    """Where in ``url`` a substituted value must be URL-quoted: user info and the query."""
    spans = []
    scheme_end = url.find("://")
    if scheme_end >= 0:
        start = scheme_end + 3
        slash = url.find("/", start)
        netloc_end = len(url) if slash < 0 else slash
        at = url.rfind("@", start, netloc_end)
        if at >= 0:
            spans.append((start, at))
    question = url.find("?")
    if question >= 0:
        spans.append((question, len(url)))
    return spans


def clear_secret(url: str) -> str | None:
    """What in ``url`` is a secret written in clear (``password``, ``secret=...``), or None."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if password and not REFERENCE.fullmatch(password):
        return "the password in its user part"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        secret = any(word in key.lower() for word in CLEAR_SECRET_KEYS)
        if secret and value and not REFERENCE.fullmatch(value):
            return f"the query value {key}="
    return None


def refuse_clear_secret(url: str, what: str) -> None:
    """Raise ConfigurationError when ``url`` holds a password or secret in clear."""
    found = clear_secret(url)
    if found is None:
        return
    example = "postgresql+psycopg://app:${KITARU_DB_PASSWORD}@db.internal/kitaru"
    raise ConfigurationError(
        f"The {what} holds {found} in clear; stacks are kept in {config_path()}, which must "
        "not hold credentials. Write a reference to an environment variable instead, e.g. "
        f"'{example}' (in single quotes, so the shell leaves it alone), and set that "
        "variable where the stack is used. Or leave the password out: PostgreSQL also reads "
        "PGPASSWORD and ~/.pgpass, S3 the usual AWS settings (AWS_ACCESS_KEY_ID, AWS_PROFILE)."
    )


HIDDEN = "***"
SECRET_QUERY_KEYS = ("password", "token", "secret", "key")
"""Query keys whose value is hidden when a URL is shown."""


def hide_password(url: str) -> str:
    """``url`` with the password of its user part, and secret-looking query values, hidden.

    A ``${VAR}`` reference is shown as it is: it names a variable, it holds no secret.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc, query = parts.netloc, parts.query
    if password is not None and not REFERENCE.fullmatch(password):
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{HIDDEN}@{host}"
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(k, HIDDEN if _secret(k) and not REFERENCE.fullmatch(v) else v) for k, v in pairs]
    if masked != pairs:
        query = urlencode(masked, safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # untouched, including forms urlunsplit would rewrite (sqlite:////abs/path)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_QUERY_KEYS)


def all_stacks() -> dict[str, Stack]:
    """Every stack: the default one and those in the config file, by name."""
    return stacks_from_config(read_config_file(), kitaru_home())


def get_stack(name: str) -> Stack:
    """The stack called ``name``, or a ConfigurationError listing the known ones."""
    stacks = all_stacks()
    if name not in stacks:
        raise ConfigurationError(
            f"Unknown stack {name!r}. Known stacks: {', '.join(sorted(stacks))}. "
            "Create it with `kitaru stack create NAME --store URL --artifacts URL`."
        )
    return stacks[name]


def active_stack_source() -> StackSource:
    """What chose the active stack: configure(), KITARU_STACK, the config file, or nothing."""
    if _config.stack_override():
        return "configure"
    if os.environ.get("KITARU_STACK"):
        return "KITARU_STACK"
    if read_config_file().get("active_stack"):
        return "config file"
    return "default"


def new_stack(
    name: str, *, store: str, artifacts: str | None = None, runner: str = "local"
) -> Stack:
    """A checked, not yet saved stack: valid name and runner, no secret in clear."""
    if not STACK_NAME.match(name):
        raise ConfigurationError(
            f"Stack name {name!r} is not allowed: use letters, digits, '_', '.' or '-', "
            "starting with a letter or digit, at most 63 characters."
        )
    if name == DEFAULT_STACK:
        raise ConfigurationError(
            f"The stack {DEFAULT_STACK!r} is built in (SQLite and a folder under KITARU_HOME) "
            "and cannot be redefined; give the new stack another name."
        )
    if not RUNNER_NAME.match(runner):
        raise ConfigurationError(
            f"Runner {runner!r} is not a runner name: use 'local' (run in the calling "
            "process), 'workers' (queue for `kitaru worker`), or the name a runner plugin "
            "registers."
        )
    if not store:
        raise ConfigurationError(f"Stack {name!r} needs a store URL (--store).")
    refuse_clear_secret(store, f"store URL of stack {name!r}")
    artifact_url = artifacts or str(kitaru_home() / "artifacts")
    refuse_clear_secret(artifact_url, f"artifact URL of stack {name!r}")
    return Stack(name, store, artifact_url, runner)


def refuse_taken(name: str) -> None:
    """Raise ConfigurationError when the config file already has a stack called ``name``."""
    if name in (read_config_file().get("stacks") or {}):
        raise ConfigurationError(
            f"A stack called {name!r} already exists in {config_path()}. Delete it first "
            f"(`kitaru stack delete {name}`) or choose another name."
        )


def save_stack(stack: Stack, *, replace_existing: bool = False) -> None:
    """Write ``stack`` into the config file (refusing to overwrite one unless asked)."""
    if not replace_existing:
        refuse_taken(stack.name)
    data = read_config_file()
    stacks: dict[str, Any] = dict(data.get("stacks") or {})
    stacks[stack.name] = {
        "store": stack.store_url,
        "artifacts": stack.artifact_url,
        "runner": stack.runner,
    }
    write_config_file({**data, "stacks": stacks})
    _config.reset_cache()


def remove_stack(name: str) -> Stack:
    """Delete stack ``name`` from the config file; its store and artifacts are left as they are.

    The default stack and the active one cannot be deleted.
    """
    if name == DEFAULT_STACK:
        raise ConfigurationError(f"The stack {DEFAULT_STACK!r} is built in; it cannot be deleted.")
    stack = get_stack(name)
    data = read_config_file()
    if data.get("active_stack") == name or load_settings().stack.name == name:
        raise ConfigurationError(
            f"Stack {name!r} is the active stack. Switch to another first "
            f"(`kitaru stack use {DEFAULT_STACK}`), then delete it."
        )
    stacks = dict(data.get("stacks") or {})
    stacks.pop(name, None)
    write_config_file({**data, "stacks": stacks})
    _config.reset_cache()
    return stack


def set_active_stack(name: str) -> Stack:
    """Make ``name`` the active stack in the config file and in this process at once."""
    stack = get_stack(name)
    data = read_config_file()
    if name == DEFAULT_STACK:
        data.pop("active_stack", None)
    else:
        data["active_stack"] = name
    write_config_file(data)
    _config.choose_stack(name)
    return stack


def describe(stack: Stack, *, active: bool) -> dict[str, Any]:
    """A stack as JSON-ready data; URLs as stored (references, never their values)."""
    return {
        "name": stack.name,
        "store": stack.store_url,
        "artifacts": stack.artifact_url,
        "runner": stack.runner,
        "active": active,
    }
