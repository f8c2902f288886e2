"""S3 settings from an artifact URL's query, and how S3 calls are retried.

``s3://bucket/prefix?endpoint_url=http://minio:9000&region=eu-west-1&retries=4``: every query
key is optional; without them s3fs uses the usual AWS settings (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws``). Credentials in the
URL must be ``${VAR}`` references, resolved when the stack is opened.

Transient failures (connection refused or reset, timeouts, throttling, 5xx answers) are retried
by botocore's ``standard`` retry mode: exponential backoff with jitter, ``retries`` times after
the first attempt. s3fs's own retry loop is turned off so the two do not multiply.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kitaru_core.errors import ConfigurationError

DEFAULT_RETRIES = 4
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
S3_CALL_TRIES = 1
"""Tries per s3fs call (its ``retries`` attribute): botocore's retry mode does the backoff."""
QUERY_KEYS = ("endpoint_url", "region", "profile", "key", "secret", "token", "retries")


def is_s3(url: str) -> bool:
    """Whether ``url`` names an S3 location."""
    return url.startswith(("s3://", "s3a://"))


def strip_query(url: str) -> str:
    """``url`` without its query (the part s3fs would read as a key)."""
    return url.split("?", 1)[0]


def s3_storage_options(url: str) -> dict[str, Any]:
    """s3fs options for ``url``: its query settings and the retry policy."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(unknown)} in the artifact URL {strip_query(url)}; "
            f"an s3:// URL takes {', '.join(QUERY_KEYS)}."
        )
    retries = _retries(query.pop("retries", None), url)
    options: dict[str, Any] = {
        "skip_instance_cache": True,  # its own instance: S3_CALL_TRIES is set on it
        "config_kwargs": {
            "retries": {"mode": "standard", "max_attempts": retries + 1},
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
        },
    }
    region = query.pop("region", None)
    if region:
        options["client_kwargs"] = {"region_name": region}
    options.update({name: value for name, value in query.items() if value})
    return options


def _retries(value: str | None, url: str) -> int:
    if value is None or value == "":
        return DEFAULT_RETRIES
    try:
        retries = int(value)
    except ValueError:
        retries = -1
    if not 0 <= retries <= 20:
        raise ConfigurationError(
            f"retries={value!r} in the artifact URL {strip_query(url)} must be a whole number "
            "from 0 to 20."
        )
    return retries
