"""The test environment itself: warning filters and offline settings every session relies on."""

from __future__ import annotations

import os
import warnings

import pytest


@pytest.mark.parametrize(
    "message",
    [
        "Item 'a' on TypedDict class 'T' is using the `ReadOnly` qualifier. Pydantic will not "
        "protect items from any mutation on dictionary instances.",
        "Items 'a', 'b' on TypedDict class 'T' are using the `ReadOnly` qualifier. Pydantic will "
        "not protect items from any mutation on dictionary instances.",
    ],
)
def test_readonly_qualifier_warning_is_ignored_in_every_wording(message: str) -> None:
    # pyproject's filterwarnings turns warnings into errors; this one (raised by Pydantic for
    # LiteLLM's TypedDicts) must be ignored whatever its grammatical number.
    warnings.warn(message, UserWarning, stacklevel=1)


def test_litellm_local_price_map_is_forced_for_the_whole_test_run() -> None:
    # Set by tests/conftest.py before anything imports LiteLLM, and inherited by every child
    # process the tests start, so no test fetches LiteLLM's remote price map.
    assert os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").lower() == "true"
