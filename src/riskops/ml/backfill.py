"""Replay historical payments through the real pipeline in event-time order, labels delayed.

Sources: CSV or Parquet files with our payment fields (plus an optional `label` column), or
the Fraud Detection Handbook's daily pickles (a file or a folder of them). The handbook's
customer becomes our card and account, its terminal our merchant, its amounts minor units.
Each payment's idempotency key derives from its source row, so a rerun stores nothing twice.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr, ValidationError
from rich.progress import Progress

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.errors import BadRequest
from riskops.core.payment import Channel
from riskops.db import transaction
from riskops.decisions.cards import with_check_digit
from riskops.decisions.requests import TransactionCreate
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.runtime import Runtime

BACKFILLER = Principal(key_id="backfill", name="riskops backfill", role=Role.SERVICE)
CHUNK = 64


@dataclass(frozen=True, slots=True)
class SourceRow:
    key: str
    request: TransactionCreate
    label: int | None


def read_frame(path: Path) -> pd.DataFrame:
    files = sorted(path.glob("*.pkl")) if path.is_dir() else [path]
    if not files:
        raise BadRequest(f"no .pkl files in {path}", {"path": str(path)})
    frames = []
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".pkl":
            frames.append(pd.read_pickle(file))  # noqa: S301 - the operator names the file
        elif suffix == ".csv":
            # Text stays text (a category "5411" or a card number is no integer).
            frames.append(pd.read_csv(file, dtype=str))
        elif suffix in {".parquet", ".pq"}:
            frames.append(pd.read_parquet(file))
        else:
            raise BadRequest(
                f"{file.name}: expected .csv, .parquet or the handbook's .pkl files",
                {"path": str(file)},
            )
    return pd.concat(frames, ignore_index=True)


def _handbook_rows(frame: pd.DataFrame) -> Iterator[SourceRow]:
    frame = frame.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable")
    for row in frame.itertuples(index=False):
        customer, terminal = int(row.CUSTOMER_ID), int(row.TERMINAL_ID)
        occurred = pd.Timestamp(row.TX_DATETIME).tz_localize(UTC).to_pydatetime()
        request = TransactionCreate(
            account_id=f"fdh-c{customer}",
            amount_minor=max(1, round(float(row.TX_AMOUNT) * 100)),
            currency="EUR",
            card_number=SecretStr(with_check_digit(f"4{customer:014d}")),
            merchant_id=f"fdh-t{terminal}",
            merchant_category="5999",
            merchant_country="FR",
            channel=Channel.POS,
            occurred_at=occurred,
        )
        yield SourceRow(f"fdh-{int(row.TRANSACTION_ID)}", request, int(row.TX_FRAUD))


def _payment_rows(frame: pd.DataFrame) -> Iterator[SourceRow]:
    if "occurred_at" not in frame.columns:
        raise BadRequest("payment files need an occurred_at column (event time, with offset)")
    frame = frame.assign(occurred_at=pd.to_datetime(frame["occurred_at"], utc=True))
    frame = frame.sort_values("occurred_at", kind="stable")
    fields = set(TransactionCreate.model_fields)
    for index, record in enumerate(frame.to_dict("records")):
        data: dict[str, Any] = {k: v for k, v in record.items() if k in fields and pd.notna(v)}
        data["occurred_at"] = record["occurred_at"].to_pydatetime()
        data["card_number"] = str(data.get("card_number", ""))
        if "amount_minor" in data:
            data["amount_minor"] = _integer(data["amount_minor"], index)
        try:
            request = TransactionCreate.model_validate(data)
        except ValidationError as error:
            raise BadRequest(
                f"row {index}: {error.errors()[0]['msg']} ({error.errors()[0]['loc']})",
                {"row": index},
            ) from None
        label = record.get("label")
        key = str(record.get("idempotency_key") or f"backfill-{index}")
        known = label is not None and not pd.isna(label)
        yield SourceRow(key, request, _integer(label, index) if known else None)


def _integer(value: object, index: int) -> int:
    try:
        return int(float(str(value)))
    except ValueError:
        raise BadRequest(f"row {index}: {value!r} is not a number", {"row": index}) from None


def source_rows(frame: pd.DataFrame) -> Iterator[SourceRow]:
    handbook = {"TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"}
    return _handbook_rows(frame) if handbook <= set(frame.columns) else _payment_rows(frame)


async def backfill(
    runtime: Runtime, frame: pd.DataFrame, label_delay: timedelta, *, limit: int | None = None
) -> tuple[int, int]:
    """Submit every row in event order; store each label `label_delay` after its payment."""
    total = min(len(frame), limit) if limit else len(frame)
    submitted = labelled = 0
    with Progress() as progress:
        task = progress.add_task("backfilling payments", total=total)
        async for batch in _batches(source_rows(frame), total):
            results = await asyncio.gather(
                *(runtime.pipeline.submit(r.request, r.key, BACKFILLER) for r in batch)
            )
            labels = [
                (
                    LabelCreate(
                        transaction_id=str(result.document["id"]),
                        label=row.label,
                        source=LabelSource.BACKFILL,
                        labelled_at=_at(row) + label_delay,
                    ),
                    _label_event_id(row.key),
                )
                for row, result in zip(batch, results, strict=True)
                if row.label is not None
            ]
            if labels:
                async with transaction(runtime.engine) as connection:
                    for label, event_id in labels:
                        stored = await runtime.labels.store(connection, label, event_id=event_id)
                        labelled += stored is not None
            submitted += len(batch)
            progress.advance(task, len(batch))
    return submitted, labelled


def _label_event_id(key: str) -> str:
    # Derived from the source row, so a rerun's label is recognised and not stored twice.
    return hashlib.blake2b(f"backfill-label:{key}".encode(), digest_size=13).hexdigest()


def _at(row: SourceRow) -> datetime:
    assert row.request.occurred_at is not None
    return row.request.occurred_at


async def _batches(rows: Iterator[SourceRow], total: int) -> AsyncIterator[list[SourceRow]]:
    # A batch is submitted concurrently, so it never holds two payments of one account, card,
    # merchant or device: no entity's history can be recorded out of event order.
    batch: list[SourceRow] = []
    entities: set[str] = set()
    for count, row in enumerate(rows):
        if count >= total:
            break
        request = row.request
        keys = {
            f"a:{request.account_id}",
            f"c:{request.card_number.get_secret_value()}",
            f"m:{request.merchant_id}",
            f"d:{request.device_id}",
        }
        if len(batch) >= CHUNK or keys & entities:
            yield batch
            batch, entities = [], set()
        batch.append(row)
        entities |= keys
    if batch:
        yield batch
