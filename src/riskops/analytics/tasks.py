"""The analytics consumer: risk assessments into hourly aggregates, exactly once per event."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.analytics import repository
from riskops.analytics.service import latency_bucket
from riskops.db import transaction
from riskops.events.consumer import Consumer, Incoming
from riskops.events.envelope import ASSESSMENTS_TOPIC, RISK_ASSESSED
from riskops.events.repository import claim_events


class AnalyticsConsumer(Consumer):
    name = "analytics"
    topics = (ASSESSMENTS_TOPIC,)
    accepts = frozenset({RISK_ASSESSED})

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def handle(self, item: Incoming) -> None:
        outcome = (await self.handle_batch([item]))[0]
        if outcome is not None:
            raise outcome

    async def handle_batch(self, items: Sequence[Incoming]) -> list[BaseException | None]:
        # One transaction per batch: the claims and the increments commit or vanish together.
        try:
            async with transaction(self.engine) as connection:
                fresh = await claim_events(connection, self.name, [i.id for i in items])
                totals: dict[repository.BucketKey, list[float]] = {}
                for item in items:
                    if item.id not in fresh:
                        continue  # a redelivery: its effect is already counted
                    fresh.discard(item.id)  # the same event twice in one batch counts once
                    data = item.data
                    decided = datetime.fromisoformat(data["decided_at"])
                    key = (
                        decided.replace(minute=0, second=0, microsecond=0),
                        data["status"],
                        data["channel"],
                        data["merchant_country"],
                        latency_bucket(float(data["latency_ms"])),
                    )
                    bucket = totals.setdefault(key, [0, 0, 0.0])
                    bucket[0] += 1
                    bucket[1] += data["amount_minor"]
                    bucket[2] += float(data["latency_ms"])
                await repository.add(connection, totals)
        except Exception as error:  # the runner retries each item on its own
            return [error] * len(items)
        return [None] * len(items)
