"""LabelService.store: the one door for labels; hooks see each label once."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.labels.service import LabelService, StoredLabel


async def test_store_is_idempotent_per_event_and_runs_hooks_once(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    await upgrade(engine)
    service = LabelService()
    seen: list[StoredLabel] = []

    async def hook(connection: AsyncConnection, label: StoredLabel) -> None:
        seen.append(label)

    service.hooks.append(hook)
    label = LabelCreate(
        transaction_id="t-1", label=1, source=LabelSource.CHARGEBACK,
        labelled_at=datetime(2026, 11, 22, 3, tzinfo=UTC),
    )  # fmt: skip
    try:
        async with engine.begin() as connection:
            first = await service.store(connection, label, event_id="01JAAAAAAAAAAAAAAAAAAAAAAA")
            again = await service.store(connection, label, event_id="01JAAAAAAAAAAAAAAAAAAAAAAA")
            other = await service.store(connection, label)  # no event: an analyst's label
        assert first is not None and again is None and other is not None
        assert [s.id for s in seen] == [first.id, other.id]
        assert seen[0].source == "chargeback" and seen[0].transaction_id == "t-1"
    finally:
        await engine.dispose()


def test_labels_need_an_aware_time_and_a_binary_value() -> None:
    with pytest.raises(ValueError, match="timezone"):
        LabelCreate(
            transaction_id="t",
            label=1,
            source=LabelSource.ANALYST,
            labelled_at=datetime(2026, 1, 1),
        )  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="less than or equal to 1"):
        LabelCreate(
            transaction_id="t", label=2, source=LabelSource.ANALYST, labelled_at=datetime.now(UTC)
        )
