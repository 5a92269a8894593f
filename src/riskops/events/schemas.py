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
    bus_error: str | None = None  # the bus could not be asked (lag unknown); backlog still is
    outbox_backlog: int
    oldest_unpublished_at: datetime | None
    consumers: list[ConsumerLag]
    dead_letters: dict[str, int]
