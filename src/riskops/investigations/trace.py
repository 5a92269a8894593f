"""The step trace: each step's inputs, outputs, duration, error, actor and time.

A step that raises is recorded with its error and yields None; it never fails the steps
running beside it nor the investigation (the recommendation works with what there is).
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from riskops.audit.actions import Actor
from riskops.core.errors import RiskOpsError
from riskops.db.types import utcnow

T = TypeVar("T")


@dataclass(slots=True)
class Step:
    name: str
    inputs: dict[str, Any]
    actor: str
    started_at: datetime
    outputs: dict[str, Any] | None = None
    duration_ms: float | None = None
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_of(error: Exception) -> dict[str, Any]:
    if isinstance(error, RiskOpsError):
        return {"code": error.code, "message": str(error), "details": error.details}
    return {"code": type(error).__name__, "message": str(error), "details": {}}


class Trace:
    def __init__(self, actor: Actor, plan: list[str]) -> None:
        self.actor = actor
        self.plan = plan
        self.steps: list[Step] = []

    async def run(
        self,
        name: str,
        inputs: dict[str, Any],
        call: Callable[[], Awaitable[T]],
        outputs: Callable[[T], dict[str, Any]],
    ) -> T | None:
        step = Step(name, inputs, self.actor.id, utcnow())
        self.steps.append(step)  # at the start: the trace keeps the order steps began in
        began = time.perf_counter()
        try:
            result = await call()
        except Exception as error:  # recorded, not raised: one tool's failure is not the run's
            step.error = error_of(error)
            return None
        finally:
            step.duration_ms = round((time.perf_counter() - began) * 1000, 3)
        step.outputs = outputs(result)
        return result

    def as_list(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.steps]
