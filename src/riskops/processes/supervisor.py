"""The worker process beside the API: started, restarted with backoff when it dies, stopped
within a deadline when the API stops.

The child runs in its own session, so a Ctrl-C (SIGINT to the terminal's process group) reaches
the API process only and the worker cannot die and be restarted while the API shuts down: the
API stops it (SIGTERM, then SIGKILL after the deadline). If the API process itself is killed
outright, the worker notices that its parent is gone (`--parent-pid`) and stops on its own, so
it is never orphaned.
"""

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from riskops.core.background import Background

log = logging.getLogger(__name__)
# The worker's own shutdown (events and model jobs stop within 5 s each) fits in this.
STOP_DEADLINE_SECONDS = 15.0
KILL_GRACE_SECONDS = 5.0


def worker_command(parent_pid: int | None = None) -> list[str]:
    """`riskops worker` with this interpreter, told whose child it is."""
    return [
        sys.executable, "-m", "riskops", "worker",
        "--parent-pid", str(os.getpid() if parent_pid is None else parent_pid),
    ]  # fmt: skip


class WorkerSupervisor:
    def __init__(
        self,
        command: Sequence[str],
        *,
        backoff_first: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        stop_deadline: float = STOP_DEADLINE_SECONDS,
    ) -> None:
        self.command = list(command)
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.stable_after = stable_after  # a run this long resets the backoff
        self.stop_deadline = stop_deadline
        self.restarts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._background = Background("supervisor")

    @property
    def pid(self) -> int | None:
        process = self.process
        return process.pid if process is not None and process.returncode is None else None

    def start(self) -> None:
        self._background = Background("supervisor")
        self._background.spawn(self._supervise(), "worker")

    async def stop(self) -> int | None:
        """Stop the worker (SIGTERM, SIGKILL after the deadline); returns its exit code."""
        # The supervising loop terminates the worker itself (so a worker starting right now is
        # not missed); the second call covers a loop that had to be cancelled.
        await self._background.stop(deadline=self.stop_deadline + KILL_GRACE_SECONDS + 1)
        return await self._terminate()

    async def _supervise(self) -> None:
        backoff = self.backoff_first
        stopping = self._background.stopping
        while not stopping.is_set():
            started = time.monotonic()
            try:
                self.process = process = await asyncio.create_subprocess_exec(
                    *self.command, start_new_session=True
                )
            except OSError as error:
                log.error("could not start the worker process: %s", error)
            else:
                log.info("worker process %d started", process.pid)
                exited = asyncio.ensure_future(process.wait())
                asked = asyncio.ensure_future(stopping.wait())
                await asyncio.wait({exited, asked}, return_when=asyncio.FIRST_COMPLETED)
                asked.cancel()
                if stopping.is_set():
                    exited.cancel()
                    await self._terminate()
                    return
                if time.monotonic() - started >= self.stable_after:
                    backoff = self.backoff_first
                log.error(
                    "worker process %d exited with code %s; restarting it in %.1f s",
                    process.pid, process.returncode, backoff,
                )  # fmt: skip
            if await self._background.sleep(backoff):
                return
            backoff = min(backoff * 2, self.backoff_max)
            self.restarts += 1

    async def _terminate(self) -> int | None:
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(self.stop_deadline):
                return await process.wait()
        except TimeoutError:
            log.error(
                "worker process %d did not stop within %.0f s: killed",
                process.pid, self.stop_deadline,
            )  # fmt: skip
        process.kill()
        try:
            async with asyncio.timeout(KILL_GRACE_SECONDS):
                return await process.wait()
        except TimeoutError:
            log.error("worker process %d survived SIGKILL", process.pid)
            return None
