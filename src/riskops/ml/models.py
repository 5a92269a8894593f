"""Tables of the models package: scored records, shadow/canary outcomes, drift reports."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


class PredictionRecord(Base):
    """A feature payload scored through POST /v1/predict, kept with what produced its score."""

    __tablename__ = "prediction_records"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    features: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    score: Mapped[float] = mapped_column(Float, index=True)
    label: Mapped[str] = mapped_column(String(16), index=True)  # fraud | legit
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ShadowScore(Base):
    """A score (or a failure) from a model that did not decide: shadow or canary challenger."""

    __tablename__ = "shadow_scores"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    alias: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    champion_score: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DriftReport(Base):
    """PSI per feature and for the score over one window, against the training reference."""

    __tablename__ = "drift_reports"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    score_psi: Mapped[float | None] = mapped_column(Float)
    max_psi: Mapped[float | None] = mapped_column(Float)
    max_psi_feature: Mapped[str | None] = mapped_column(String(128))
    features_psi: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
