"""Operation identity is the same in every process, and stays what stored executions recorded."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pydantic
import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.engine._fingerprint import canonical_json, digest
from kitaru_core.errors import FingerprintError

REPO_ROOT = Path(__file__).resolve().parents[2]

# Fingerprints computed by Kitaru before sets inside pickled objects were made canonical, for the
# values in fingerprint_values.py. Persisted compatibility data: stored executions find their
# operations by these digests, so a change here breaks the resume of every stored execution.
PINNED = {
    "json": "062437bc82832317e6f4",
    "nested": "0c86210d8cc7e155b1b0",
    "unicode": "b6d1014bce0af410ffc4",
    "surrogate": "bd93fe0004ea27ee845e",
    "int_keys": "9dea9284e3cc0a2368ad",
    "tuple_keys": "cacbc584d93131067111",
    "mixed_keys": "03b8135534fb44da0c19",
    "tuple": "fcf9c91b2eb11d12d039",
    "str_set": "17f143bf2c75e14094eb",
    "frozenset": "ea4aa4de1b04b84cb91e",
    "int_set": "c1ddcd371f7f78ecbc8f",
    "bytes": "532bd9d15c2b5b19b990",
    "enum": "94498deab681f3075aa8",
    "dataclass": "59ff565af29295fcb3bf",
    "model": "c4000b3bc80be70edc73",
    "set_model": "45c29d756f8f8dc918b5",
    "dates": "c876d7fa4842dee14d8e",
    "misc": "ee8e063e5bec4f96eb55",
    "plain_object": "324687939f016b23f1d5",
    "namespace": "1ecaf8fc27715da53fe8",
    "namespace_int_set": "c7484b4577873b54cc3b",
    "namespace_one_str": "d39aabec4b3cc298cb40",
    "reduced": "252f868f83265e338089",
    "slotted": "3208af12a685b6e618a6",
    "complex": "7f55d22844ff52b952dc",
    "fraction": "cfce35f8078404ca7ffb",
    "range": "0e6cab05d868552ba706",
}


def digests_by_seed(module: str, cases: str) -> dict[str, dict[str, str]]:
    """``{seed: {case: digest}}`` of ``module.cases`` computed in processes with different
    string hashes, as any two processes have."""
    script = (
        f"import json\nfrom {module} import {cases} as cases\n"
        "from kitaru_core.engine._fingerprint import canonical_json, digest\n"
        "def fp(value):\n"
        "    try:\n"
        "        return digest(canonical_json(value))\n"
        "    except Exception as exc:\n"
        "        return f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps({k: fp(v) for k, v in cases.items()}))"
    )
    found = {}
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        found[seed] = json.loads(out.stdout)
    return found


def test_fingerprints_of_already_canonical_values_never_change() -> None:
    for seed, digests in digests_by_seed("tests.unit.fingerprint_values", "VALUES").items():
        assert digests == PINNED, f"PYTHONHASHSEED={seed}"


# values whose pickled bytes list a set in hash order -------------------------------------------


class Tags:
    """An object with its own ``__reduce__`` whose arguments hold a set."""

    def __init__(self, tags: set[str]) -> None:
        self.tags = tags

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tags, (self.tags,))


class TagSet(set):  # type: ignore[type-arg]
    """A set subclass: pickled as ``(cls, (list(items),), state)``, the list in hash order."""


@dataclasses.dataclass
class Holder:
    inner: Any


class AnyModel(pydantic.BaseModel):
    inner: Any


WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}

SEED_CASES: dict[str, Any] = {
    "namespace": types.SimpleNamespace(tags=set(WORDS)),
    "reduce": Tags(set(WORDS)),
    "frozen_in_reduce": Tags(frozenset(WORDS)),  # type: ignore[arg-type]
    "nested": types.SimpleNamespace(rows=[("x", {"p", "q", "r", "s"})], n={"k": frozenset(WORDS)}),
    "set_of_tuples": types.SimpleNamespace(pairs={(w, len(w)) for w in WORDS}),
    "set_key": types.SimpleNamespace(by={frozenset(WORDS): 1, frozenset({"a", "b"}): 2}),
    "subclass": types.SimpleNamespace(tags=TagSet(WORDS)),
    "in_dataclass": Holder(types.SimpleNamespace(tags=set(WORDS))),
    "in_model": AnyModel(inner=types.SimpleNamespace(tags=set(WORDS))),
    "set_of_objects": {Tags({"a", "b", "c"}), Tags({"d", "e", "f"})},
}


def test_fingerprint_of_set_in_namespace_is_seed_independent() -> None:
    found = digests_by_seed("tests.unit.test_fingerprint_identity", "SEED_CASES")
    unstable = [case for case in SEED_CASES if len({fp[case] for fp in found.values()}) > 1]
    failing = {case: fp for case, fp in found["1"].items() if len(fp) != 20}
    assert unstable == [], "these fingerprints depend on the process's hash seed"
    assert failing == {}


def test_fingerprint_of_set_in_namespace_still_tells_values_apart() -> None:
    ns = types.SimpleNamespace
    assert canonical_json(ns(tags={"a", "b"})) == canonical_json(ns(tags={"b", "a"}))
    assert canonical_json(ns(tags={"a", "b"})) != canonical_json(ns(tags={"a", "c"}))
    assert canonical_json(ns(tags={"a", "b"})) != canonical_json(ns(tags=frozenset({"a", "b"})))
    assert canonical_json(ns(tags={"a", "b"})) != canonical_json(ns(tags=TagSet({"a", "b"})))
    assert canonical_json(Tags({"a", "b"})) != canonical_json(Tags({"a", "b", "c"}))
    marked = TagSet({"a", "b"})
    marked.note = "x"  # type: ignore[attr-defined]
    assert canonical_json(ns(t=marked)) != canonical_json(ns(t=TagSet({"a", "b"})))


class Member:
    """Hashed by identity, and pointing back at the group whose set holds it."""

    def __init__(self, name: str, group: Any) -> None:
        self.name = name
        self.group = group

    def __reduce__(self) -> tuple[Any, ...]:
        return (Member, (self.name, self.group))


ran: Counter[str] = Counter()


@checkpoint
def greet(group: Any) -> int:
    ran["greet"] += 1
    return len(group.members)


@flow
def club() -> int:
    group = types.SimpleNamespace(members=set())
    group.members.update({Member("ann", group), Member("bob", group)})
    return greet(group)


def test_a_value_that_cannot_be_made_canonical_is_refused_before_the_body_runs() -> None:
    ran.clear()
    with pytest.raises(FingerprintError, match=r"argument 'group'.*of 'greet'.*set") as caught:
        club()
    assert isinstance(caught.value, kitaru.KitaruError)
    assert ran["greet"] == 0
    [execution] = KitaruClient().executions.list()
    assert execution.operations == []
    assert digest(canonical_json({"ok": {1, 2}}))  # the error leaves no state behind
