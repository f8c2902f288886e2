"""OperationInfo.reused says what the latest run returned from the record, nothing else."""

from __future__ import annotations

from kitaru import KitaruClient, checkpoint, flow

inputs = {"values": [1, 2, 3], "fail": True}


@checkpoint
def square(x: int) -> int:
    return x * x


@flow
def squares() -> list[int]:
    out = [square(x) for x in inputs["values"]]
    if inputs["fail"]:
        raise RuntimeError("fail after the squares")
    return out


def test_reused_marks_only_operations_the_latest_run_took_from_the_record() -> None:
    inputs.update(values=[1, 2, 3], fail=True)
    handle = squares.run()
    assert [op.reused for op in handle.get().operations] == [False, False, False]

    inputs.update(values=[1, 5, 3], fail=False)  # the second input changed
    assert KitaruClient().executions.retry(handle.exec_id).wait() == [1, 25, 9]
    flags = {op.input_text: op.reused for op in handle.get().operations}
    assert flags == {'{"x":1}': True, '{"x":2}': False, '{"x":3}': True, '{"x":5}': False}
