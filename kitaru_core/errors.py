"""Every error Kitaru raises: one base, specific subclasses, messages that say what to do next."""

from __future__ import annotations

import json


class KitaruError(Exception):
    """Base of all Kitaru errors. ``code`` is stable and safe to match on."""

    code = "kitaru_error"


class ConfigurationError(KitaruError):
    """A setting, stack or config file is invalid."""

    code = "configuration"


class StoreError(KitaruError):
    """The execution store cannot be opened or used."""

    code = "store"


class NotAKitaruStore(StoreError):
    """The store location holds something that is not a Kitaru database."""

    code = "not_a_kitaru_store"


class StoreUnavailable(StoreError):
    """The store cannot be reached or failed (server down, connection lost, file gone)."""

    code = "store_unavailable"


class StackUnavailable(StoreUnavailable):
    """A stack's store or artifact store cannot be reached; nothing ran on it."""

    code = "stack_unavailable"

    def __init__(self, stack: str, part: str, url: str, reason: str) -> None:
        self.stack, self.part, self.url = stack, part, url
        super().__init__(f"Stack {stack!r} cannot be used: its {part} {url} {reason}")


class StoreReadOnly(StoreError):
    """The store can be read but not written (no write permission, read-only mount)."""

    code = "store_read_only"


class ExecutionNotFound(KitaruError, LookupError):
    """No execution has the given id."""

    code = "execution_not_found"

    def __init__(self, exec_id: str) -> None:
        self.exec_id = exec_id
        super().__init__(
            f"No execution with id {exec_id!r} in this store. "
            "Check the id with `kitaru executions list`."
        )


class ExecutionExists(KitaruError):
    """An execution with the given id is already recorded (a deterministic id, such as a
    scheduled run's, was taken by another process first)."""

    code = "execution_exists"

    def __init__(self, exec_id: str) -> None:
        self.exec_id = exec_id
        super().__init__(f"An execution with id {exec_id!r} already exists in this store.")


class ArtifactNotFound(KitaruError, LookupError):
    """No artifact matches the given id or name."""

    code = "artifact_not_found"


class ArtifactCorrupted(KitaruError):
    """A stored blob no longer matches its content hash."""

    code = "artifact_corrupted"


class SerializationError(KitaruError, TypeError):
    """A value cannot be stored or read back."""

    code = "serialization"


class FingerprintError(KitaruError, TypeError):
    """An argument cannot be given an identity that is the same in every process; nothing ran."""

    code = "fingerprint"


class InvalidName(KitaruError, ValueError):
    """A name (of a flow, operation, wait or artifact) or a wait question no store can hold."""

    code = "invalid_name"


class InvalidExecutionState(KitaruError):
    """The execution is not in a state that allows the requested action."""

    code = "invalid_state"


class ExecutionBusy(InvalidExecutionState):
    """Another live process owns the execution."""

    code = "execution_busy"


class ExecutionTakenOver(KitaruError):
    """This process lost the execution (its lease expired); nothing more is recorded from it."""

    code = "execution_taken_over"

    def __init__(self, exec_id: str, *, new_owner: str | None, status: str) -> None:
        self.exec_id = exec_id
        self.new_owner = new_owner
        self.status = status
        now = f"was taken over by {new_owner}" if new_owner else f"is now {status}"
        super().__init__(
            f"Execution {exec_id} {now}: this process's lease on it expired (it was paused, or "
            "cut off from the store, for longer than the lease), so it stopped here and recorded "
            f"nothing more. See `kitaru executions get {exec_id}`; if such pauses are expected, "
            "raise the lease_seconds setting (KITARU_LEASE_SECONDS)."
        )


class ExecutionReleased(KitaruError):
    """A draining worker let the execution go after its operation in flight; it is queued."""

    code = "execution_released"

    def __init__(self, exec_id: str) -> None:
        self.exec_id = exec_id
        super().__init__(
            f"Execution {exec_id} was released by a worker that is stopping; it is queued again "
            "and the next worker continues it from its last completed operation."
        )


class NoWorkerRunning(KitaruError):
    """An execution was queued on a worker stack, but no worker has sent a heartbeat lately."""

    code = "no_worker_running"

    def __init__(self, exec_id: str, stack: str, within: float) -> None:
        self.exec_id = exec_id
        self.stack = stack
        super().__init__(
            f"Execution {exec_id} is queued on stack {stack!r}, but no worker of that stack has "
            f"sent a heartbeat in the last {within:g} s, so nothing will run it. Start one with "
            f"`kitaru worker --stack {stack}`; it picks the execution up (wait for it with "
            f"`KitaruClient().executions.handle({exec_id!r}).wait()`)."
        )


class FlowNotFound(KitaruError):
    """The code of a stored flow cannot be imported again."""

    code = "flow_not_found"


class ExecutionFailed(KitaruError):
    """A flow raised; carries the stored error when the original exception is gone."""

    code = "execution_failed"

    def __init__(self, exec_id: str, error: str, next_step: str | None = None) -> None:
        self.exec_id = exec_id
        self.error = error
        self.next_step = next_step or f"Fix the cause, then `kitaru executions retry {exec_id}`."
        super().__init__(f"Execution {exec_id} failed: {error.rstrip('.')}. {self.next_step}")


class ExecutionCancelled(KitaruError):
    """The execution was cancelled (``exec_id``, when known, says which)."""

    code = "execution_cancelled"

    def __init__(self, message: str, *, exec_id: str | None = None) -> None:
        self.exec_id = exec_id
        super().__init__(message)


class ExecutionSuspended(KitaruError):
    """The flow is waiting for input; its process has let go of it."""

    code = "execution_suspended"

    def __init__(
        self,
        exec_id: str,
        wait_name: str | None = None,
        *,
        wait_id: str | None = None,
        children: tuple[str, ...] = (),
    ) -> None:
        self.exec_id = exec_id
        self.wait_name = wait_name
        self.wait_id = wait_id
        self.children = children
        """The child executions the flow waits for (empty when it waits for input)."""
        target = f" --wait {wait_name}" if wait_name else ""
        self.command = f"kitaru executions input {exec_id}{target} --value JSON"
        if children:
            super().__init__(
                f"Execution {exec_id} is waiting for its child execution"
                f"{'s' if len(children) > 1 else ''} {', '.join(children)}. It continues when "
                "they finish: on its own on a worker stack, else with "
                f"`kitaru executions resume {exec_id}`."
            )
            return
        super().__init__(
            f"Execution {exec_id} is waiting for input{f' on {wait_name!r}' if wait_name else ''}. "
            f"Answer with `{self.command}`, then `kitaru executions resume {exec_id}`."
        )


class WaitAborted(KitaruError):
    """A pending wait was aborted instead of answered.

    ``next_step`` says how to go on: a retry meets the same aborted wait, so it is a replay
    that answers the wait (``wait.NAME`` override).
    """

    code = "wait_aborted"

    def __init__(
        self, message: str, *, exec_id: str | None = None, wait_name: str | None = None
    ) -> None:
        self.exec_id = exec_id
        self.wait_name = wait_name
        self.next_step: str | None = None
        if exec_id is not None and wait_name is not None:
            key = json.dumps(f"wait.{wait_name}")
            self.next_step = (
                "A retry meets the same aborted wait; to go on with an answer, replay it: "
                f"`kitaru executions replay {exec_id} --overrides '{{{key}: ...}}'`."
            )
        super().__init__(message)


class InvalidWaitAnswer(KitaruError, ValueError):
    """An answer does not match the schema of the wait it is meant for; nothing was stored."""

    code = "invalid_wait_answer"


class WaitNotFound(KitaruError, LookupError):
    """No pending wait matches; the message lists the ones there are."""

    code = "wait_not_found"


class InvalidReplay(KitaruError, ValueError):
    """A replay's ``from_``, overrides or arguments name nothing, or name it ambiguously."""

    code = "invalid_replay"


class MissingExtraError(KitaruError, ImportError):
    """An adapter's optional dependency is not installed."""

    code = "missing_extra"

    def __init__(self, extra: str, package: str) -> None:
        self.extra = extra
        self.package = package
        self.install_hint = f"pip install 'kitaru[{extra}]'"
        super().__init__(
            f"This feature needs {package!r}, which is not installed. "
            f"Install it with: {self.install_hint}"
        )


class DeploymentNotFound(KitaruError, LookupError):
    """No deployment has the given flow name, tag or version; the message lists what exists."""

    code = "deployment_not_found"


class InvalidDeployment(KitaruError, ValueError):
    """A deployment cannot be made, invoked or changed as asked (bad arguments for the flow's
    signature, a version still running); nothing was changed."""

    code = "invalid_deployment"
