"""Labels: the truth about a transaction, known only later; training joins them point-in-time."""

from datetime import datetime

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import UTCDateTime


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    # No foreign key: labels may arrive for transactions this database never saw (backfills).
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[int] = mapped_column(SmallInteger)  # 1 fraud, 0 genuine
    source: Mapped[str] = mapped_column(String(32))  # chargeback | analyst | simulation | backfill
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # when it became known
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[str | None] = mapped_column(String(26), unique=True)  # dedupes redeliveries
