"""Ruleset versions (immutable once written) and the drafts that become them."""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


class RulesetVersion(Base):
    __tablename__ = "ruleset_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical rules JSON
    comment: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))  # key id ("system" for the imported v1)
    author_name: Mapped[str] = mapped_column(String(128))  # the key's name, for people
    approver: Mapped[str | None] = mapped_column(String(64))  # None only for the imported v1
    approver_name: Mapped[str | None] = mapped_column(String(128))
    draft_id: Mapped[str | None] = mapped_column(String(26))
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | superseded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RulesetDraft(Base):
    __tablename__ = "ruleset_drafts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    base_version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    comment: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64), index=True)
    author_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(24), index=True)
    diff: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    backtest: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    reviewer_name: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)  # the version an approval made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
