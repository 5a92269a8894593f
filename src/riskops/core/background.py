"""Background loops with an owner: a stop flag every loop checks, and a stop that is bounded.

Stopping never depends on a cancellation arriving. On Python 3.11 `asyncio.wait_for` can swallow
a cancellation that lands in the same loop tick as the awaited future completes
(python/cpython#86296); a `while True` loop around it then never ends and shutdown hangs. So
every loop here runs `while not stopping`, waits through `asyncio.timeout` (which does not lose
cancellations), and `stop()` sets the flag, waits up to a deadline, then cancels what is left,
waits again with a bound, and reports by name whatever still did not finish.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long cancelled tasks get to unwind (close cursors, release locks) before we give up.
CANCEL_GRACE_SECONDS = 2.0


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    if event.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(seconds, 0.0)):
            await event.wait()
    return event.is_set()


async def finish(
    tasks: Iterable[asyncio.Task[Any]],
    deadline: float,
    *,
    grace: float = CANCEL_GRACE_SECONDS,
) -> list[str]:
    """Let `tasks` end on their own for `deadline` seconds, then cancel and await them with a
    bound. Returns the names of tasks that were still running afterwards (empty when all ended).
    """
    pending = {task for task in tasks if not task.done()}
    if pending and deadline > 0:
        _, pending = await asyncio.wait(pending, timeout=deadline)
    if pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
    stuck = sorted(task.get_name() for task in pending)
    if stuck:
        log.error("background tasks did not stop: %s", ", ".join(stuck))
    return stuck


class Background:
    """The owner of a set of looping tasks: start them, tell them to stop, wait with a bound.

    A loop takes this object's `stopping` flag into account (`while not bg.stopping.is_set()`)
    and sleeps through `bg.sleep()`, which returns early when a stop is asked for.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def spawn(self, job: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(job, name=f"{self.name}.{name}")
        task.add_done_callback(self._report_crash)
        self._tasks.append(task)
        return task

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (early) if a stop was asked for."""
        return await wait_event(self.stopping, seconds)

    async def stop(self, deadline: float = 5.0) -> list[str]:
        """Ask every loop to stop; after `deadline` seconds cancel the rest. Returns the names
        of tasks that did not stop even then (they are left behind, and logged)."""
        self.stopping.set()
        tasks, self._tasks = self._tasks, []
        return await finish(tasks, deadline)

    def _report_crash(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("%s ended with an error", task.get_name(), exc_info=task.exception())


async def in_daemon_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking `function(*args)` in a daemon thread and await its result.

    For long work (training, importing MLflow) that must not hold up shutdown: unlike
    `asyncio.to_thread`, the loop's closing does not wait for this thread, and a process that
    exits leaves it behind. Cancelling the awaiting task abandons the result, never the loop.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (function(*args), None)
        except BaseException as error:  # handed to the awaiting task, never lost
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop closed while we worked
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=getattr(function, "__name__", "work"), daemon=True).start()
    return await future
