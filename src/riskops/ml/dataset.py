"""Training sets from the feature log: the vectors decisions used, joined with labels
point-in-time (a label counts only if it was known at the cut-off)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.features import FEATURE_NAMES
from riskops.ml import repository


def frame_from_rows(
    rows: Sequence[dict[str, Any]], features: Sequence[str] = FEATURE_NAMES
) -> pd.DataFrame:
    """One row per logged decision: its features (missing ones NaN), label, time and card."""
    records = [
        {
            **{name: row["features"].get(name) for name in features},
            "label": int(row["label"]),
            "occurred_at": row["occurred_at"],
            "card": row["card_token"],
            "transaction_id": row["id"],
        }
        for row in rows
    ]
    columns = [*features, "label", "occurred_at", "card", "transaction_id"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame[list(features)] = frame[list(features)].astype("float64")
    return frame


async def build_dataset(
    engine: AsyncEngine, start: datetime, end: datetime, cutoff: datetime | None = None
) -> pd.DataFrame:
    """Payments in [start, end) with the fraud labels known at `cutoff` (default: `end`)."""
    async with engine.connect() as connection:
        rows = await repository.training_rows(connection, start, end, cutoff or end)
    return frame_from_rows(rows)
