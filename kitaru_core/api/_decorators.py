"""``@flow`` and ``@checkpoint``: plain calls outside a flow, durable operations inside one."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from kitaru_core.engine import _context

if TYPE_CHECKING:
    from kitaru_core.api._options import RunOptions

P = ParamSpec("P")
R = TypeVar("R")

_CO_COROUTINE = 0x0080


def _is_async(func: Callable[..., Any]) -> bool:
    code = getattr(func, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    # functools.partial of an async function, an object with an async __call__
    if inspect.iscoroutinefunction(func):
        return True
    return not inspect.isroutine(func) and inspect.iscoroutinefunction(type(func).__call__)


class Checkpoint(Generic[P, R]):
    """A function whose completed result is recorded once per execution and reused on resume."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay: float = 1.0,
        type: str | None = None,
        cache: bool = True,
    ) -> None:
        # lazy: keeps import kitaru fast
        from kitaru_core.engine._code import register_checkpoint
        from kitaru_core.engine._fingerprint import ArgumentBinder
        from kitaru_core.engine._runtime import OperationSpec

        if retries < 0 or retry_delay < 0:
            raise ValueError("@checkpoint retries and retry_delay must be zero or more.")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.is_async = _is_async(func)
        self.spec = OperationSpec(
            name=self.name,
            kind=type or "checkpoint",
            retries=retries,
            retry_delay=retry_delay,
            cache=cache,
        )
        self._binder = ArgumentBinder(func)
        register_checkpoint(self)

    def __repr__(self) -> str:
        return f"<checkpoint {self.name}>"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        run = _context.durable_run()
        if run is None:
            return self.func(*args, **kwargs)
        # lazy: keeps import kitaru fast
        from kitaru_core.engine._fingerprint import fingerprint_call
        from kitaru_core.engine._runtime import arun_operation, run_operation

        fingerprint, text = fingerprint_call(self._binder, args, kwargs, self.name)
        if self.is_async:
            return arun_operation(  # type: ignore[return-value]
                run,
                self.spec,
                fingerprint,
                text,
                lambda: self.func(*args, **kwargs),  # type: ignore[arg-type,return-value]
            )
        return run_operation(run, self.spec, fingerprint, text, lambda: self.func(*args, **kwargs))


class Flow(Generic[P, R]):
    """The durable entry point of an agent. Calling it runs an execution to its end."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        stack: str | None = None,
        retries: int = 0,
        max_concurrency: int | None = None,
    ) -> None:
        # lazy: keeps import kitaru fast
        from kitaru_core.engine._code import locate, register_flow
        from kitaru_core.engine._runtime import DEFAULT_MAX_CONCURRENCY, check_storable

        if retries < 0:
            raise ValueError("@flow retries must be zero or more.")
        if max_concurrency is not None and (
            not isinstance(max_concurrency, int) or max_concurrency < 1
        ):
            raise ValueError(
                f"@flow max_concurrency must be a whole number of one or more, not "
                f"{max_concurrency!r}."
            )
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        check_storable("Flow name", self.name)
        self.stack = stack
        self.retries = retries
        self.max_concurrency = max_concurrency or DEFAULT_MAX_CONCURRENCY
        """How many child executions a run of this flow runs at once (local stacks)."""
        self.is_async = _is_async(func)
        self.signature = inspect.signature(func)
        self._binder: Any = None  # made on the first start of a child of this flow
        self.ref, self.file, self.code_dir = locate(func)
        register_flow(self)

    def __repr__(self) -> str:
        return f"<flow {self.name}>"

    def bind(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The call's arguments by parameter name, defaults applied."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if _context.current_run() is not None:
            return self.func(*args, **kwargs)
        if self.is_async:
            return self._call_async(*args, **kwargs)  # type: ignore[return-value]
        return self.run(*args, **kwargs).wait()

    async def _call_async(self, *args: Any, **kwargs: Any) -> Any:
        handle = await self.run(*args, **kwargs)
        return handle.wait()

    def run(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Start an execution; returns a FlowHandle (a coroutine of one for async flows).

        Run options (``stack=``) may be given as keywords unless the flow has a parameter of
        that name; ``options()`` sets them in every case.
        """
        # lazy: keeps import kitaru fast
        from kitaru_core.api._options import split_run_options

        options, flow_kwargs = split_run_options(self.signature, kwargs)
        return self.start(options, args, flow_kwargs)

    def options(self, **options: Any) -> FlowRun[P, R]:
        """This flow with run options set: ``flow.options(stack="prod").run(x)``."""
        # lazy: keeps import kitaru fast
        from kitaru_core.api._options import make_options

        return FlowRun(self, make_options(self.name, options))

    def start(self, options: RunOptions, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Start an execution with ``options`` and the flow's arguments (what ``run()`` and
        ``options().run()`` share). Inside a flow it starts a child execution of that flow's
        execution and returns its handle at once (see ``runners/_fanout.py``)."""
        if self.is_async:
            return self._run_async(options, args, kwargs)
        if _context.durable_run() is not None:
            return self._start_child(options, args, kwargs)
        # lazy: keeps import kitaru fast
        from kitaru_core.api._queued import queue_on_workers
        from kitaru_core.client._handle import FlowHandle
        from kitaru_core.engine._runner import create_execution, execute, settings_for

        arguments = self.bind(*args, **kwargs)
        settings = settings_for(self, options.stack)
        queued = queue_on_workers(self, arguments, settings, not_before=options.start_time())
        if queued is not None:
            return queued
        run = create_execution(self, arguments, settings=settings)
        return FlowHandle.of(execute(self, run, arguments))

    async def _run_async(
        self, options: RunOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        # lazy: keeps import kitaru fast
        from kitaru_core.api._queued import queue_on_workers
        from kitaru_core.client._handle import FlowHandle
        from kitaru_core.engine._runner import aexecute, create_execution, settings_for

        if _context.durable_run() is not None:
            return self._start_child(options, args, kwargs)
        arguments = self.bind(*args, **kwargs)
        settings = settings_for(self, options.stack)
        queued = queue_on_workers(self, arguments, settings, not_before=options.start_time())
        if queued is not None:
            return queued
        run = create_execution(self, arguments, settings=settings)
        return FlowHandle.of(await aexecute(self, run, arguments))

    def _start_child(
        self, options: RunOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Start this flow as a child of the running execution: a durable operation of it."""
        # lazy: keeps import kitaru fast
        from kitaru_core.client._handle import FlowHandle
        from kitaru_core.engine._fingerprint import ArgumentBinder, fingerprint_call
        from kitaru_core.errors import KitaruError
        from kitaru_core.runners._fanout import start_child
        from kitaru_core.store._backends import current_store

        run = _context.durable_run()
        assert run is not None
        if options.at is not None or options.delay is not None:
            raise KitaruError(
                f"Flow {self.name!r} is started inside a flow, as a child execution, which "
                "starts at once: at= and delay= are for runs started outside a flow."
            )
        if self._binder is None:
            self._binder = ArgumentBinder(self.func)
        arguments = self.bind(*args, **kwargs)
        fingerprint = fingerprint_call(self._binder, args, kwargs, self.name)
        exec_id, settings = start_child(
            run,
            self,
            arguments,
            fingerprint,
            stack=options.stack,
            detached=bool(options.detached),
        )
        return FlowHandle(exec_id, store=current_store(settings), settings=settings)

    def deploy(
        self,
        *,
        name: str | None = None,
        tags: Sequence[str] = (),
        default: bool = True,
        stack: str | None = None,
    ) -> Any:
        """Publish a snapshot of this flow's code as the next version of ``name`` (the flow's
        name by default), tagged ``tags`` and, unless ``default=False``, ``default``.

        Returns the deployment record; identical code gives its existing version back. Invoke
        it anywhere with ``kitaru.invoke(name, args={...})``. See docs/guides/deployments.md.
        """
        # lazy: keeps import kitaru fast
        from kitaru_core.client import KitaruClient

        client = KitaruClient(stack or self.stack)
        return client.deployments.deploy(self, name=name, tags=tags, default=default)

    def replay(
        self,
        exec_id: str,
        from_: str | None = None,
        overrides: dict[str, Any] | None = None,
        **flow_kwargs: Any,
    ) -> Any:
        """Start a new execution that reuses ``exec_id``'s operations before ``from_``.

        ``overrides`` maps ``checkpoint.NAME`` / ``wait.NAME`` / ``arg.NAME`` to new values;
        ``flow_kwargs`` change flow arguments. Returns a FlowHandle (a coroutine of one for
        async flows). See docs/guides/replay.md.
        """
        # lazy: keeps import kitaru fast
        from kitaru_core.client._handle import FlowHandle
        from kitaru_core.replay._replay import replay_flow

        started = replay_flow(self, exec_id, from_, overrides, flow_kwargs)
        return FlowHandle.of_async(started) if self.is_async else FlowHandle.of(started)


class FlowRun(Generic[P, R]):
    """A flow with run options set (``flow.options(...)``): every keyword of ``run()`` and of
    a call goes to the flow."""

    def __init__(self, flow: Flow[P, R], options: RunOptions) -> None:
        self.flow = flow
        self.run_options = options

    def __repr__(self) -> str:
        return f"<flow {self.flow.name} with {self.run_options}>"

    def options(self, **options: Any) -> FlowRun[P, R]:
        """These options with ``options`` set as well (later ones win)."""
        from kitaru_core.api._options import make_options

        return FlowRun(self.flow, self.run_options.merged(make_options(self.flow.name, options)))

    def run(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Start an execution with these options; like ``Flow.run``."""
        return self.flow.start(self.run_options, args, kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run to the end and return the result (an awaitable of it for async flows)."""
        if self.flow.is_async:
            return self._call_async(args, kwargs)  # type: ignore[return-value]
        return self.run(*args, **kwargs).wait()

    async def _call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        handle = await self.flow.start(self.run_options, args, kwargs)
        return handle.wait()


@overload
def checkpoint(func: Callable[P, R], /) -> Checkpoint[P, R]: ...
@overload
def checkpoint(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
    type: str | None = None,
    cache: bool = True,
) -> Callable[[Callable[P, R]], Checkpoint[P, R]]: ...
def checkpoint(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make a function a durable operation when it is called inside a flow."""
    if func is not None:
        return Checkpoint(func, **options)
    return lambda f: Checkpoint(f, **options)


@overload
def flow(func: Callable[P, R], /) -> Flow[P, R]: ...
@overload
def flow(
    *,
    name: str | None = None,
    stack: str | None = None,
    retries: int = 0,
    max_concurrency: int | None = None,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...
def flow(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make a function a durable flow: crash-resumable, replayable, recorded."""
    if func is not None:
        return Flow(func, **options)
    return lambda f: Flow(f, **options)
