"""Which background work runs in which process.

`riskops serve` is two processes on the embedded default: the API process spends its core on
decisions, and a supervised worker process beside it runs the outbox relay, the consumers that
do not need the API's memory, and the model jobs (first champion training, drift, retraining).
`riskops serve --api-only` plus `riskops worker` is the same split for production.

One constraint decides the split: the in-memory online store (features/memory.py) belongs to
the API process, because features are read and updated on the decision path. Two consumers
write to that store, so with the memory backend they stay in the API process:
- `labels`: each stored label feeds the merchant fraud-rate windows (features/labels.py); in
  another process it would feed a store nobody reads. It handles rare, small events, so it
  costs the decision path next to nothing.
- `risk`: it runs the decision pipeline on stream payments; its features must update the
  same windows the HTTP payments update.
With Redis features every process shares the store, so every consumer moves to the worker.
Model serving (loading aliased models, hot reload, shadow scores) always stays in the API
process: it scores on the decision path. The API reads the registry's aliases every
`model_reload` and so learns of a champion the worker trained or a promotion made elsewhere.
"""

from collections.abc import Sequence
from enum import StrEnum

from riskops.settings import Settings

# Consumers that write to the online store (see above).
STORE_BOUND_CONSUMERS = frozenset({"labels", "risk"})


class ProcessRole(StrEnum):
    ALL = "all"  # one process runs everything (tests, `serve --single-process`)
    API = "api"  # decisions, model serving, and the consumers bound to its memory
    WORKER = "worker"  # relay, the other consumers, model jobs


def consumers_for(role: ProcessRole, settings: Settings) -> Sequence[str]:
    """The consumer groups from settings.consumers that a process of `role` runs."""
    if role is ProcessRole.ALL:
        return list(settings.consumers)
    shared_store = settings.feature_store != "memory"
    bound = set() if shared_store else STORE_BOUND_CONSUMERS
    if role is ProcessRole.API:
        return [name for name in settings.consumers if name in bound]
    return [name for name in settings.consumers if name not in bound]


def runs_relay(role: ProcessRole) -> bool:
    return role is not ProcessRole.API


def runs_model_jobs(role: ProcessRole) -> bool:
    """First-champion training, drift reports and retraining: never on the API's loop."""
    return role is not ProcessRole.API


def runs_queue_metrics(role: ProcessRole) -> bool:
    """Counting the case queue for its gauges: one process does it, never the API replicas."""
    return role is not ProcessRole.API
