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


def frame_from_export(uri: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The same training set read from an offline export (`riskops export`): payments in
    [start, end) with the fraud labels known at `end`, point-in-time as from the database."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from riskops.offline.export import Destination

    destination = Destination(uri)

    def table(name: str, columns: list[str], where: Any) -> pd.DataFrame:
        dataset = ds.dataset(
            f"{destination.root}/{name}", filesystem=destination.fs, partitioning="hive"
        )
        return dataset.to_table(columns=columns, filter=where).to_pandas()

    occurred = pc.field("occurred_at")
    payments = table(
        "decisions",
        ["transaction_id", "occurred_at", "card_token", *FEATURE_NAMES],
        (occurred >= pd.Timestamp(start)) & (occurred < pd.Timestamp(end)),
    )
    known_at_end = pc.field("labelled_at") <= pd.Timestamp(end)
    known = table("labels", ["transaction_id", "label"], known_at_end)
    fraud = known.groupby("transaction_id")["label"].max()
    rows = [
        {
            "id": row["transaction_id"],
            "occurred_at": row["occurred_at"].to_pydatetime(),
            "card_token": row["card_token"],
            "features": {name: row[name] for name in FEATURE_NAMES},
            "label": int(fraud.get(row["transaction_id"], 0)),
        }
        for row in payments.sort_values(["occurred_at", "transaction_id"]).to_dict("records")
    ]
    return frame_from_rows(rows)
