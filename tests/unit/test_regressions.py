"""Regressions found by a bug hunt in the durable core; each test names the guarantee it keeps."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import functools
import hashlib
import io
import os
import subprocess
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pydantic
import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.engine import _context
from kitaru_core.engine._fingerprint import canonical_json
from kitaru_core.errors import ExecutionCancelled, ExecutionFailed, KitaruError
from kitaru_core.store._artifacts import BlobStore

calls: Counter[str] = Counter()
knobs: dict[str, Any] = {}
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    calls.clear()
    knobs.clear()


def only_execution(flow_name: str | None = None) -> kitaru.Execution:
    [execution] = KitaruClient().executions.list(flow=flow_name)
    return execution


# identity: arguments JSON cannot fingerprint as they are ----------------------------------------


@checkpoint
def count_keys(table: dict[Any, Any]) -> int:
    calls[f"count_keys:{len(table)}"] += 1
    return len(table)


@flow
def keyed() -> int:
    total = count_keys({(0, 0): "origin", (1, 2): "point"}) + count_keys({1: "int", "b": "str"})
    if knobs.get("broken"):
        raise RuntimeError("after the checkpoints")
    return total


def test_dicts_with_non_string_keys_are_fingerprinted_and_reused() -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError, match="after the checkpoints"):
        keyed()
    knobs["broken"] = False
    exec_id = only_execution().exec_id
    assert KitaruClient().executions.retry(exec_id).wait() == 4
    assert calls == {"count_keys:2": 2}  # each ran once; the retry reused both

    first = canonical_json({(1, 2): "a", (3, 4): "b"})
    assert first == canonical_json({(3, 4): "b", (1, 2): "a"})  # key order does not matter
    assert first != canonical_json({(1, 2): "a", (3, 5): "b"})
    assert canonical_json({1: "a", "b": [{(0,): None}]}) != canonical_json({"1": "a", "b": [{}]})
    # Values JSON always handled keep the identity they had before.
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert canonical_json({1: "x"}) == '{"1":"x"}'


@checkpoint
def echo(text: str) -> str:
    calls[f"echo:{text!r}"] += 1
    return text


@flow
def undecodable(name: str) -> str:
    return echo(name) + echo(name + "\\udcff")


def test_strings_with_lone_surrogates_are_fingerprinted_and_stored() -> None:
    # os.listdir() and sys.argv give such strings for names that are not valid UTF-8.
    name = b"report-\xff.txt".decode("utf-8", "surrogateescape")
    assert undecodable(name) == name + name + "\\udcff"
    [plain, literal] = only_execution().operations
    assert plain.op_id != literal.op_id  # a surrogate and its escaped spelling differ
    text = canonical_json(name)
    text.encode("utf-8")  # storable as UTF-8 text
    assert text == canonical_json(name)


class Config:
    """A plain object: pickled state, no JSON form."""

    def __init__(self, tags: set[str], limit: int = 3) -> None:
        self.tags = tags
        self.limit = limit


class Tagged(pydantic.BaseModel):
    tags: set[str]
    when: datetime.date | None = None


class Dated(pydantic.BaseModel):
    when: datetime.date


def test_pydantic_models_with_sets_fingerprint_the_same_in_every_process() -> None:
    # model_dump(mode="json") lists a set in hash order, which differs between processes.
    assert len(digests_across_hash_seeds(f"Tagged(tags={TAGS})")) == 1
    assert canonical_json(Tagged(tags={"a"})) != canonical_json(Tagged(tags={"b"}))
    # A model without sets keeps the fingerprint it always had.
    plain = Dated(when=datetime.date(2024, 1, 2))
    assert canonical_json(plain).endswith(',"v":{"when":"2024-01-02"}}')


class Node:
    def __init__(self, label: str) -> None:
        self.label = label
        self.parent: Node | None = None
        self.children: list[Node] = []


def digests_across_hash_seeds(expression: str) -> set[str]:
    """The fingerprint of ``expression`` (over this module's names) in processes whose string
    hashes differ, as in any two processes."""
    script = (
        "from tests.unit.test_regressions import *\n"
        "from kitaru_core.engine._fingerprint import canonical_json, digest\n"
        f"print(digest(canonical_json({expression})))"
    )
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    return digests


TAGS = "{'alpha', 'beta', 'gamma', 'delta', 'eps'}"


def test_plain_objects_fingerprint_the_same_in_every_process() -> None:
    assert len(digests_across_hash_seeds(f"{{'c': Config({TAGS})}}")) == 1

    same = canonical_json(Config({"a", "b"}))
    assert same == canonical_json(Config({"b", "a"}))
    assert same != canonical_json(Config({"a", "c"}))
    assert same != canonical_json(Config({"a", "b"}, limit=4))
    assert canonical_json(1 + 2j) != canonical_json(1 + 3j)
    root = Node("root")
    child = Node("leaf")
    child.parent, root.children = root, [child]
    assert canonical_json(root) == canonical_json(root)  # a cycle falls back to pickled bytes
    assert canonical_json(threading.Lock()) == canonical_json(threading.Lock())


# metadata that a store cannot hold ------------------------------------------------------------


@checkpoint
def stamped(value: Any) -> int:
    calls["stamped"] += 1
    kitaru.log(value=value)
    return 1


@flow
def log_in_checkpoint(value: Any) -> int:
    return stamped(value)


@flow
def log_in_flow(value: Any) -> int:
    kitaru.log(value=value)
    return 1


@pytest.mark.parametrize(
    "value", [datetime.date(2024, 1, 2), float("nan"), float("inf"), {"nested": {1, 2}}]
)
def test_log_refuses_values_no_store_can_hold(value: Any) -> None:
    # Before: the flow-level call left the execution `running` (its final update failed on the
    # same metadata), and the checkpoint-level one lost the completed checkpoint's record.
    with pytest.raises(KitaruError, match=r"kitaru\.log"):
        log_in_flow(value)
    execution = only_execution("log_in_flow")
    assert execution.status == "failed"
    assert execution.error is not None and "kitaru.log" in execution.error["message"]
    assert execution.metadata == {}

    with pytest.raises(KitaruError, match="value"):
        log_in_checkpoint(value)
    execution = only_execution("log_in_checkpoint")
    assert execution.status == "failed"
    [op] = execution.operations
    assert op.status == "failed" and "kitaru.log" in (op.error or {}).get("message", "")


# artifacts: one blob written by several threads -------------------------------------------------


def test_threads_storing_the_same_blob_all_succeed(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for trial in range(5):
        store = BlobStore(f"file://{tmp_path / str(trial)}")
        data = os.urandom(1 << 20)
        barrier = threading.Barrier(8)

        def put(store: BlobStore = store, data: bytes = data, barrier: Any = barrier) -> None:
            try:
                barrier.wait(timeout=10)
                store.put(data)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=put) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert store.get(hashlib.sha256(data).hexdigest()) == data
        leftovers = [p.name for p in (tmp_path / str(trial)).rglob("*.tmp")]
        assert leftovers == []
    assert errors == []


# captured output from threads --------------------------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads very often so that unsynchronised updates show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@flow
def printer(threads: int, lines: int) -> int:
    def work(i: int) -> None:
        for j in range(lines):
            print(f"t{i}-{j}")

    with ThreadPoolExecutor(threads) as pool:
        for i in range(threads):
            pool.submit(contextvars.copy_context().run, work, i)
    return threads * lines


def test_output_printed_from_threads_is_kept(
    fast_switching: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert printer(8, 500) == 4000
    logs = KitaruClient().executions.logs(only_execution().exec_id)
    text = "".join(line.line for line in logs)
    missing = [f"t{i}-{j}" for i in range(8) for j in range(500) if f"t{i}-{j}" not in text]
    assert missing == []


# cancel: what the cancelled run spent ------------------------------------------------------------


@checkpoint
def paid(x: int) -> int:
    scope = _context.current_operation()
    assert scope is not None
    scope.add_usage(model="test/model", tokens_in=10, tokens_out=5, cost=0.25)
    return x


@flow
def cancelled_midway() -> int:
    paid(1)
    run = _context.current_run()
    assert run is not None
    KitaruClient().executions.cancel(run.exec_id)
    run.next_cancel_check = 0.0  # notice it at the next operation instead of a second later
    return paid(2)


def test_a_cancelled_execution_keeps_what_it_spent() -> None:
    with pytest.raises(ExecutionCancelled):
        cancelled_midway()
    execution = only_execution()
    assert execution.status == "cancelled"
    totals = execution.to_dict(with_operations=False)
    assert (totals["tokens_in"], totals["tokens_out"], totals["cost_spent"]) == (10, 5, 0.25)


# a flow that waits on another execution ---------------------------------------------------------


@flow
def asks(x: int) -> bool:
    return bool(kitaru.wait(bool, name="approve", question=f"ok {x}?", timeout=0))


@flow
def delegates(x: int) -> bool:
    return bool(asks.run(x).wait())


@flow
def cancels_child(x: int) -> int:
    handle = asks.run(x)
    KitaruClient().executions.cancel(handle.exec_id)
    try:
        handle.wait()
    except ExecutionCancelled:
        calls["child cancelled"] += 1
        raise
    return x


def test_a_childs_suspension_suspends_the_parent_and_its_cancel_is_an_error_of_the_parent() -> None:
    # Issue 15 replaced the rule that another execution's suspension fails the waiting flow:
    # the parent suspends like at kitaru.wait() (a wait of its own, on its child), and resumes.
    with pytest.raises(kitaru.ExecutionSuspended):
        delegates(1)
    parent = only_execution("delegates")
    child = only_execution("asks")
    assert (parent.status, child.status) == ("waiting", "waiting")
    KitaruClient().executions.input(child.exec_id, True)
    assert KitaruClient().executions.resume(parent.exec_id).wait() is True

    # A cancelled child is not the parent's own cancel: an error of the parent, not a stop.
    with pytest.raises(ExecutionCancelled):
        cancels_child(2)
    assert only_execution("cancels_child").status == "failed"
    assert calls["child cancelled"] == 1
    with pytest.raises(ExecutionFailed):
        KitaruClient().executions.get(only_execution("cancels_child").exec_id).result_or_raise()


# outputs that JSON serializers would store but could not give back ----------------------------


@dataclasses.dataclass
class Loose:
    """Annotations that the values do not follow, as plain dataclasses allow."""

    title: str = None  # type: ignore[assignment]
    score: int = 0
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: Any = None


class Report(pydantic.BaseModel):
    text: str
    secret: str = pydantic.Field(default="", exclude=True)


@checkpoint
def loose() -> Loose:
    calls["loose"] += 1
    return Loose(score=0.5, meta={"when": datetime.date(2024, 1, 2)}, tags={"a"})  # type: ignore[arg-type]


@checkpoint
def report() -> Report:
    calls["report"] += 1
    return Report(text="t", secret="kept")


@flow
def outputs() -> tuple[Loose, Report]:
    made = loose(), report()
    if knobs.get("broken"):
        raise RuntimeError("after the checkpoints")
    return made


def test_outputs_are_given_back_as_they_were_returned() -> None:
    # Before: the dataclass was stored as JSON that its own annotations reject, so every resume
    # and retry failed to decode it (and the date and set came back as str and list); the model
    # lost its excluded field.
    knobs["broken"] = True
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="after the checkpoints"):
        warnings.simplefilter("ignore")  # as outside pytest: Pydantic only warns about the values
        outputs()
    knobs["broken"] = False
    first_loose, first_report = loose(), report()
    again = KitaruClient().executions.retry(only_execution().exec_id).wait()
    assert calls == {"loose": 2, "report": 2}  # the flow run and the plain calls above
    assert again == (first_loose, first_report)
    assert again[1].secret == "kept"
    codecs = [op._record.output_codec for op in only_execution().operations if op._record]
    assert codecs == ["pickle", "pickle"]  # JSON could not hold them: the last resort, recorded


# a script's own types, when a flow defined in the script is resumed from elsewhere ------------

SCRIPT = """
import dataclasses, os, sys
from kitaru import checkpoint, flow

@dataclasses.dataclass
class Query:
    text: str

class Note:
    def __init__(self, text):
        self.text = text

@checkpoint
def search(query: Query) -> Note:
    with open(os.environ["SIDE_EFFECTS"], "a") as out:
        out.write("search\\n")
    return Note(query.text + "!")

@flow
def agent(text: str) -> str:
    note = search(Query(text))
    if os.environ.get("CRASH"):
        os._exit(3)
    return note.text

if __name__ == "__main__":
    print(agent.run(sys.argv[1]).exec_id)
"""

RESUME = (
    "import sys\n"
    "from kitaru import KitaruClient\n"
    "print(KitaruClient().executions.resume(sys.argv[1]).wait())\n"
)


def test_a_script_flow_resumed_from_another_process_reuses_what_used_its_types(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    # Before: resuming from the CLI or a client (which imports the script as a module of
    # another name) ran `search` again - the dataclass argument fingerprinted differently - and
    # could not unpickle `Note`, which the script had pickled as __main__.Note.
    script = tmp_path / "agent_script.py"
    script.write_text(SCRIPT)
    side_effects = tmp_path / "side-effects.txt"
    env = {**subprocess_env, "SIDE_EFFECTS": str(side_effects)}

    def child(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env={**env, **extra},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    crashed = child(str(script), "hi", CRASH="1")
    assert crashed.returncode == 3, crashed.stderr
    [execution] = KitaruClient().executions.list()
    resumed = child("-c", RESUME, execution.exec_id)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "hi!"
    assert side_effects.read_text().splitlines() == ["search"]


# a process without standard streams --------------------------------------------------------------


@flow
def prints_in_the_dark() -> int:
    print("nobody sees this")
    print("nor this", file=sys.stderr)
    return 1


def test_print_in_a_process_without_stdout_does_not_fail_the_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A daemon or pythonw has sys.stdout = None, where print() does nothing. Before, the
    # capture wrapper called None.write and every print failed the flow.
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert prints_in_the_dark() == 1
    lines = KitaruClient().executions.logs(only_execution().exec_id)
    assert [(line.stream, line.line) for line in lines] == [
        ("stdout", "nobody sees this"),
        ("stderr", "nor this"),
    ]
    assert sys.stdout is None


# async callables without a code object of their own ---------------------------------------------


async def _add(base: int, x: int) -> int:
    calls[f"add:{base}+{x}"] += 1
    await asyncio.sleep(0)
    return base + x


class AsyncScorer:
    async def __call__(self, x: int) -> int:
        calls[f"score:{x}"] += 1
        return x * 10


add_ten = checkpoint(name="add_ten")(functools.partial(_add, 10))
score = checkpoint(name="score")(AsyncScorer())


@flow
async def partial_steps(x: int) -> int:
    return await add_ten(x) + await score(x)


def test_a_partial_or_callable_object_of_an_async_function_is_an_async_checkpoint() -> None:
    # Before: only a function's own code flags were checked, so these ran as sync checkpoints
    # and tried to store the un-awaited coroutine.
    assert asyncio.run(partial_steps(1)) == 21
    assert [op.status for op in only_execution().operations] == ["completed", "completed"]


# names longer than the store's columns ------------------------------------------------------------


@flow
def long_wait_name() -> Any:
    return kitaru.wait(bool, name="w" * 201, timeout=0)


def test_names_longer_than_the_store_keeps_are_refused_before_anything_runs() -> None:
    # PostgreSQL enforces the column sizes that SQLite ignores: before, a checkpoint typed
    # "retrieval-augmented-generation-step" ran, then its record was refused and its work lost.
    with pytest.raises(ValueError, match="32"):
        checkpoint(type="retrieval-augmented-generation-step")(echo.func)
    with pytest.raises(ValueError, match="200"):
        checkpoint(name="c" * 201)(echo.func)
    with pytest.raises(ValueError, match="200"):
        flow(name="f" * 201)(keyed.func)
    with pytest.raises(ValueError, match="200"):
        long_wait_name()
    assert checkpoint(name="c" * 200, type="t" * 32)(echo.func).name == "c" * 200
