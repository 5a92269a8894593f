"""API shapes of the event path's status."""

from datetime import datetime

from pydantic import BaseModel


class ConsumerLag(BaseModel):
    consumer: str
    lag: dict[str, int]
    total_lag: int


class EventsStatus(BaseModel):
    """Outbox backlog, consumer lag per topic and dead letters waiting for replay."""

    bus: str
    outbox_backlog: int
    oldest_unpublished_at: datetime | None
    consumers: list[ConsumerLag]
    dead_letters: dict[str, int]
