"""`riskops worker`: the background process (relay, consumers, model jobs, the continuous
recommendation scan) until stopped.

It stops on SIGTERM/SIGINT, and on its own when the process that started it is gone (the API
process of `riskops serve` was killed outright): a worker is never left behind.
"""

import asyncio
import logging
import os
import signal

from riskops.core.background import Background
from riskops.observability.worker_metrics import MetricsEndpoint
from riskops.processes.placement import ProcessRole
from riskops.runtime import build_runtime
from riskops.settings import Settings

log = logging.getLogger(__name__)
PARENT_CHECK_SECONDS = 0.5


async def run_worker(settings: Settings, parent_pid: int | None = None) -> None:
    runtime = await build_runtime(settings, role=ProcessRole.WORKER)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = Background("worker")
    metrics = (
        MetricsEndpoint(runtime, settings.worker_metrics_host, settings.worker_metrics_port)
        if settings.worker_metrics_port
        else None
    )
    if parent_pid is not None:
        watch.spawn(_watch_parent(parent_pid, stop, watch), "parent")
    try:
        await runtime.start()
        if metrics is not None:
            await metrics.start()
        consumers = [runner.group for runner in runtime.events.runners]
        log.info(
            "worker process %d: relay, consumers %s, model jobs %s, recommendation scan %s",
            os.getpid(), consumers or "none",
            "on" if settings.model_serving else "off",
            "on" if settings.recommendation_scan_enabled else "off",
        )  # fmt: skip
        await stop.wait()
    finally:
        await watch.stop(deadline=1.0)
        if metrics is not None:
            await metrics.stop()
        await runtime.close()  # uncommitted work is redelivered on the next start
        log.info("worker process %d stopped", os.getpid())


async def _watch_parent(parent_pid: int, stop: asyncio.Event, watch: Background) -> None:
    # A dead parent's children are re-parented (to init or a subreaper): getppid changes.
    while not await watch.sleep(PARENT_CHECK_SECONDS):
        if os.getppid() != parent_pid:
            log.warning("the API process %d is gone: the worker stops", parent_pid)
            stop.set()
            return
