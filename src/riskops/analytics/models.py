"""Hourly decision aggregates: what /v1/stats reads instead of scanning every decision."""

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import UTCDateTime


class DecisionStatsHourly(Base):
    """One row per hour x outcome x channel x country x latency bucket.

    The latency bucket is part of the key, so the histogram is just more rows of the same
    upsert (`count = count + n`): concurrent consumers never read-modify-write a document.
    """

    __tablename__ = "decision_stats_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    latency_bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    amount_minor_sum: Mapped[int] = mapped_column(BigInteger)
    latency_ms_sum: Mapped[float] = mapped_column(Float)
