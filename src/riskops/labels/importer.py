"""Chargeback files: CSV rows become labels through the label service, all or nothing.

Columns: `transaction_id`, `label` (fraud | legitimate, or 1 | 0), and optionally `source`
(default chargeback), `labelled_at` (ISO 8601 with offset; default now) and `reason`.
Every row is checked before anything is written; a file with a bad row writes nothing and
names each bad row by its line. Each label's event id derives from its row's transaction,
label and source, so importing the same file again stores nothing twice.
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.service import Actor, AdminAction
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.decisions.models import Transaction
from riskops.labels.publish import derived_event_id, label_and_publish
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.labels.service import LabelService

REQUIRED = ("transaction_id", "label")
VALUES = {"fraud": 1, "1": 1, "legitimate": 0, "genuine": 0, "0": 0}
LOOKUP_CHUNK = 500
transactions = table_of(Transaction)
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    label: LabelCreate
    event_id: str


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    stored: int = 0
    already: int = 0  # stored by an earlier import of the same rows
    bad: list[BadRow] = field(default_factory=list)


def parse(path: Path, now: datetime) -> tuple[list[ParsedRow], list[BadRow]]:
    """Every row of the file checked on its own; line numbers count the header as line 1."""
    parsed: list[ParsedRow] = []
    bad: list[BadRow] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            return [], [BadRow(1, f"missing column(s): {', '.join(missing)}")]
        for row in reader:
            line = reader.line_num
            value = VALUES.get((row.get("label") or "").strip().lower())
            if value is None:
                bad.append(BadRow(line, f"label {row.get('label')!r} is not fraud or legitimate"))
                continue
            at = (row.get("labelled_at") or "").strip()
            try:
                labelled_at = datetime.fromisoformat(at) if at else now
            except ValueError:
                bad.append(BadRow(line, f"labelled_at {at!r} is not an ISO 8601 time"))
                continue
            try:
                label = LabelCreate(
                    transaction_id=(row.get("transaction_id") or "").strip(),
                    label=value,
                    source=(row.get("source") or LabelSource.CHARGEBACK.value).strip(),
                    labelled_at=labelled_at,
                )
            except ValidationError as error:
                first = error.errors(include_input=False)[0]
                field = ".".join(str(p) for p in first["loc"])
                bad.append(BadRow(line, f"{field}: {first['msg']}"))
                continue
            event_id = derived_event_id(
                "import", label.transaction_id, str(label.label), label.source.value
            )
            parsed.append(ParsedRow(line, label, event_id))
    return parsed, bad


async def unknown_transactions(connection: AsyncConnection, rows: list[ParsedRow]) -> list[BadRow]:
    ids = sorted({r.label.transaction_id for r in rows})
    known: set[str] = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        found = await connection.execute(
            select(transactions.c.id).where(transactions.c.id.in_(chunk))
        )
        known.update(str(i) for i in found.scalars())
    return [
        BadRow(r.line, f"transaction {r.label.transaction_id} does not exist")
        for r in rows
        if r.label.transaction_id not in known
    ]


async def import_labels(
    connection: AsyncConnection,
    service: LabelService,
    path: Path,
    actor: Actor,
    progress: Progress = lambda n: None,
) -> ImportReport:
    """Check every row, then store them all in the caller's transaction (or none: bad rows
    come back in the report and nothing is written)."""
    parsed, bad = parse(path, utcnow())
    bad += await unknown_transactions(connection, parsed)
    report = ImportReport(rows=len(parsed) + len({b.line for b in bad} - {1}))
    if bad:
        report.bad = sorted(bad, key=lambda b: b.line)
        return report
    for row in parsed:
        stored = await label_and_publish(connection, service, row.label, event_id=row.event_id)
        if stored is None:
            report.already += 1
        else:
            report.stored += 1
        progress(1)
    await audit.record(
        connection,
        actor,
        AdminAction.LABELS_IMPORTED,
        f"file:{path.name}"[:200],
        after={"rows": report.rows, "stored": report.stored, "already": report.already},
    )
    return report
