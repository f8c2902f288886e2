"""Asking a wait's question on the terminal while the wait also polls the store."""

from __future__ import annotations

import json
import os
import select
import sys
from typing import TYPE_CHECKING, Any, TextIO

from kitaru_core.waits._answers import ANSWER_CODEC, describe_schema, validation_message

if TYPE_CHECKING:
    from kitaru_core.waits._waits import WaitCall


def parse_answer(text: str) -> Any:
    """Typed text as JSON when it parses, else as a plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def store_answer(call: WaitCall, answer: Any) -> None:
    """Store an answer given in this process (on the terminal); first answer wins."""
    call.run.store.answer_wait(
        call.run.exec_id,
        call.op_id,
        status="answered",
        value_codec=ANSWER_CODEC,
        value=json.dumps(answer).encode(),
    )


class Terminal:
    """The user's terminal, when stdin is one: shows the question and reads typed answers."""

    def __init__(self, call: WaitCall, out: TextIO) -> None:
        self._call = call
        self._out = out

    @classmethod
    def open(cls, call: WaitCall) -> Terminal | None:
        """A terminal to ask on, or None when not interactive (or KITARU_NO_PROMPT is set)."""
        stdin = sys.stdin
        out = sys.__stderr__
        if os.environ.get("KITARU_NO_PROMPT") or os.name == "nt" or out is None:
            return None
        try:
            if stdin is None or not stdin.isatty():
                return None
            stdin.fileno()
        except (OSError, ValueError):
            return None
        terminal = cls(call, out)
        terminal._show()
        return terminal

    def _show(self) -> None:
        call = self._call
        self._out.write(
            f"\n[kitaru] Execution {call.run.exec_id} waits for {call.name!r}.\n"
            f"{call.question or 'Input needed.'}\n"
            f"Answer with {describe_schema(call.schema)} and press Enter "
            f"(or from elsewhere: kitaru executions input {call.run.exec_id} "
            f"--wait {call.name} --value JSON).\n> "
        )
        self._out.flush()

    def ask(self, seconds: float) -> None:
        """Read one typed line within ``seconds``; a valid answer is stored as the wait's answer."""
        ready, _, _ = select.select([sys.stdin], [], [], seconds)
        if not ready:
            return
        line = sys.stdin.readline()
        if not line:  # end of input: nobody will type, keep polling the store only
            select.select([], [], [], seconds)
            return
        text = line.strip()
        if not text:
            self._out.write("> ")
            self._out.flush()
            return
        answer = self._valid(text)
        if answer is None:
            return
        store_answer(self._call, answer[0])
        self._out.write("[kitaru] Answer recorded.\n")
        self._out.flush()

    def _valid(self, text: str) -> tuple[Any] | None:
        """``(answer,)`` when the typed text (as JSON, else as a string) has the schema's JSON
        type and the flow's own type accepts it."""
        # lazy: the strict check needs jsonschema, only when someone types an answer
        from kitaru_core.waits._schema_types import check

        adapter = self._call.adapter
        error: Exception | None = None
        for candidate in (parse_answer(text), text):
            try:
                answer = check(self._call.schema, candidate)
                adapter.validate_json(json.dumps(answer))
            except ValueError as exc:
                error = error or exc
                continue
            return (answer,)
        reason = validation_message(error) if isinstance(error, ValueError) else error
        self._out.write(f"[kitaru] Not a valid answer: {reason}\n> ")
        self._out.flush()
        return None
