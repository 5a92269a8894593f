"""Background loops stop within their deadline, whatever tick a stop arrives on."""

import asyncio
import threading
import time

import pytest

from riskops.core.background import Background, finish, in_daemon_thread, wait_event


async def woken_loop(background: Background, wake: asyncio.Event) -> None:
    while not background.stopping.is_set():
        wake.clear()
        await wait_event(wake, 30.0)


async def test_a_stop_in_the_same_tick_as_a_wakeup_is_never_lost() -> None:
    # The shape that hung CI on Python 3.11: a loop woken by an event just as it is stopped.
    for ticks in range(25):
        background = Background("test")
        wake = asyncio.Event()
        background.spawn(woken_loop(background, wake), "loop")
        for _ in range(ticks):
            await asyncio.sleep(0)
        wake.set()
        started = time.monotonic()
        assert await background.stop(deadline=2.0) == []
        assert time.monotonic() - started < 1.0, f"stop waited out the deadline at tick {ticks}"
        assert not background.running


async def test_a_cancellation_in_the_same_tick_as_a_wakeup_ends_the_wait() -> None:
    # Cancellation alone (no stop flag) must also end a wait_event, at any tick offset.
    for ticks in range(25):
        wake = asyncio.Event()
        task = asyncio.create_task(wait_event(wake, 30.0))
        for _ in range(ticks):
            await asyncio.sleep(0)
        wake.set()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=1.0)
        assert done, f"the wait outlived its cancellation at tick {ticks}"


async def test_sleep_returns_early_on_stop_and_reports_it() -> None:
    background = Background("test")
    assert await background.sleep(0.01) is False
    background.stopping.set()
    started = time.monotonic()
    assert await background.sleep(30.0) is True
    assert time.monotonic() - started < 0.5


async def test_finish_cancels_after_the_deadline_and_names_what_will_not_stop() -> None:
    release = asyncio.Event()

    async def ignores_cancellation() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # misbehaves on purpose

    async def honours_cancellation() -> None:
        await asyncio.sleep(10)

    stubborn = asyncio.create_task(ignores_cancellation(), name="stubborn")
    polite = asyncio.create_task(honours_cancellation(), name="polite")
    started = time.monotonic()
    assert await finish([stubborn, polite], deadline=0.05, grace=0.1) == ["stubborn"]
    assert time.monotonic() - started < 1.0
    assert polite.cancelled()
    release.set()
    stubborn.cancel()
    await asyncio.wait([stubborn], timeout=1.0)
    assert stubborn.done()


async def test_a_crashed_loop_is_logged_and_does_not_block_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background("test")

    async def crashes() -> None:
        raise ValueError("boom")

    background.spawn(crashes(), "crash")
    await asyncio.sleep(0.01)
    assert await background.stop(deadline=1.0) == []
    assert "test.crash ended with an error" in caplog.text


async def test_in_daemon_thread_returns_results_and_errors() -> None:
    assert await in_daemon_thread(sum, [1, 2, 3]) == 6

    def fails() -> None:
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        await in_daemon_thread(fails)


async def test_a_cancelled_wait_abandons_the_thread_without_waiting_for_it() -> None:
    release = threading.Event()
    task = asyncio.create_task(in_daemon_thread(release.wait, 30.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await finish([task], deadline=0) == []
    assert time.monotonic() - started < 0.5
    release.set()
