"""The offline store: Parquet by day, incremental by watermark, readable as written, on S3 too."""

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest
from moto.server import ThreadedMotoServer
from pyarrow import fs
from sqlalchemy import func, select

from riskops.auth.roles import Role
from riskops.cases import service as cases
from riskops.db import transaction
from riskops.features import FEATURE_NAMES
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.ml.dataset import build_dataset, frame_from_export
from riskops.offline.export import WATERMARKS, export
from riskops.offline.repository import decisions, dispositions, labels
from tests.conftest import Api
from tests.payments import new_key, payment

START = datetime(2000, 1, 1, tzinfo=UTC)
EXPORTED = (("decisions", decisions), ("labels", labels), ("cases", dispositions))
# A card each: review payments of one card would join one case.
CARDS = ("4111111111111111", "5555555555554444", "4012888888881881")
NO_SETTLING = timedelta(0)


async def pay(api: Api, count: int, cards: tuple[str, ...] = CARDS[:1]) -> list[str]:
    ids = []
    for i in range(count):
        answer = await api.client.post(
            "/v1/transactions",
            json=payment(
                amount_minor=1_000 + i, merchant_id=f"m-{i % 3}", card_number=cards[i % len(cards)]
            ),
            headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


async def label(api: Api, transaction_id: str) -> None:
    async with transaction(api.runtime.engine) as connection:
        await api.runtime.labels.store(
            connection,
            LabelCreate(
                transaction_id=transaction_id,
                label=1,
                source=LabelSource.CHARGEBACK,
                labelled_at=datetime.now(UTC),
            ),
        )


async def close_case(api: Api, transaction_id: str, disposition: str) -> str:
    """Close the case holding the payment (opened by hand when the consumer opened none)."""
    await api.runtime.events.drain()
    async with api.runtime.engine.connect() as connection:
        case_id = await cases.case_of(connection, transaction_id)
    if case_id is None:
        opened = await api.client.post(
            "/v1/cases",
            json={"transaction_id": transaction_id, "reason": "export test"},
            headers=api.as_role(Role.ANALYST),
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
    closed = await api.client.post(
        f"/v1/cases/{case_id}/disposition",
        json={"disposition": disposition, "reason": "reviewed: card holder called"},
        headers=api.as_role(Role.ANALYST),
    )
    assert closed.status_code == 200, closed.text
    return str(case_id)


async def stored(api: Api) -> dict[str, int]:
    """Rows in the database of each exported table (a case closing is a disposition)."""
    async with api.runtime.engine.connect() as connection:
        return {
            name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in EXPORTED
        }


def read(root: str, table: str, filesystem: fs.FileSystem | None = None) -> list[dict[str, object]]:
    dataset = ds.dataset(
        f"{root}/{table}", format="parquet", partitioning="hive", filesystem=filesystem
    )
    return dataset.to_table().to_pylist()  # type: ignore[no-any-return]


async def test_export_writes_each_row_once_across_reruns(api: Api, tmp_path: Path) -> None:
    paid = await pay(api, 6)
    await label(api, paid[0])
    target = str(tmp_path / "offline")
    first = await export(
        api.runtime.engine, target, START, datetime.now(UTC), settle=NO_SETTLING, batch=4
    )
    assert first.rows == await stored(api) == {"decisions": 6, "labels": 1, "cases": 0}
    again = await export(api.runtime.engine, target, START, datetime.now(UTC), settle=NO_SETTLING)
    assert again.rows == {"decisions": 0, "labels": 0, "cases": 0} and again.files == []

    later = await pay(api, 3)
    await label(api, later[-1])
    await export(api.runtime.engine, target, START, datetime.now(UTC), settle=NO_SETTLING, batch=4)
    rows = read(target, "decisions")
    assert sorted(r["transaction_id"] for r in rows) == sorted(paid + later)
    assert {r["transaction_id"] for r in read(target, "labels")} == {paid[0], later[-1]}

    # Readable as a feature table: a column per feature, the event time, the day partition.
    one = rows[0]
    assert set(FEATURE_NAMES) <= one.keys()
    created = one["created_at"]
    assert isinstance(one["occurred_at"], datetime) and isinstance(created, datetime)
    assert one["day"] == created.date().isoformat()
    assert isinstance(one["card_count_5m"], float) and "card_number" not in one


async def test_each_case_closing_is_exported_once(api: Api, tmp_path: Path) -> None:
    paid = await pay(api, 3, CARDS)
    case_id = await close_case(api, paid[0], "fraud_confirmed")
    target = str(tmp_path / "offline")
    first = await export(api.runtime.engine, target, START, datetime.now(UTC), settle=NO_SETTLING)
    assert first.rows == await stored(api)
    assert first.rows["cases"] == 1
    # Reopened and closed again: a second closing, and the first is not written again.
    reopened = await api.client.post(
        f"/v1/cases/{case_id}/reopen", headers=api.as_role(Role.ANALYST)
    )
    assert reopened.status_code == 200, reopened.text
    await close_case(api, paid[0], "inconclusive")
    other = await close_case(api, paid[1], "legitimate")
    second = await export(
        api.runtime.engine, target, START, datetime.now(UTC), settle=NO_SETTLING, batch=1
    )
    assert second.rows["cases"] == 2 and second.rows["decisions"] == 0
    rows = sorted(read(target, "cases"), key=lambda r: r["created_at"])
    assert len(rows) == (await stored(api))["cases"] == 3
    assert len({r["disposition_id"] for r in rows}) == 3
    assert [(r["case_id"], r["disposition"]) for r in rows] == [
        (case_id, "fraud_confirmed"),
        (case_id, "inconclusive"),
        (other, "legitimate"),
    ]
    closing = rows[0]
    assert closing["labels_written"] == 1 and closing["payments"] == 1
    assert closing["within_sla"] is True and closing["seconds_open"] >= 0
    assert closing["transaction_id"] == paid[0] and closing["amount_minor"] == 1_000
    assert closing["day"] == closing["created_at"].date().isoformat()
    assert "reason" not in closing  # analysts' free text stays in the database


async def test_a_run_interrupted_before_its_watermark_rewrites_the_same_files(
    api: Api, tmp_path: Path
) -> None:
    await pay(api, 5)
    target = tmp_path / "offline"
    first = await export(
        api.runtime.engine, str(target), START, datetime.now(UTC), settle=NO_SETTLING, batch=2
    )
    (target / WATERMARKS).unlink()  # as if the process died right after writing the files
    second = await export(
        api.runtime.engine, str(target), START, datetime.now(UTC), settle=NO_SETTLING, batch=2
    )
    assert sorted(second.files) == sorted(first.files)
    assert len(read(str(target), "decisions")) == 5
    assert not list(target.rglob("*.partial"))


async def test_rows_younger_than_the_settling_time_wait_for_the_next_run(
    api: Api, tmp_path: Path
) -> None:
    await pay(api, 2)
    result = await export(api.runtime.engine, str(tmp_path), START, datetime.now(UTC))
    assert result.rows["decisions"] == 0  # committed under a minute ago: maybe not alone yet


@pytest.fixture
def s3() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


async def test_export_round_trips_through_s3(
    api: Api, s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = fs.S3FileSystem(
        endpoint_override=s3, scheme="http", region="us-east-1", allow_bucket_creation=True
    )
    bucket.create_dir("lake")
    paid = await pay(api, 3, CARDS)
    case_id = await close_case(api, paid[2], "fraud_confirmed")
    prefix = f"lake/{uuid.uuid4().hex}"  # moto's buckets live as long as the test process
    uri = f"s3://{prefix}?endpoint_override={s3}&scheme=http&region=us-east-1"
    result = await export(api.runtime.engine, uri, START, datetime.now(UTC), settle=NO_SETTLING)
    assert result.rows == await stored(api)
    assert result.rows["decisions"] == 3 and result.rows["cases"] == 1
    rows = read(prefix, "decisions", bucket)
    assert sorted(r["transaction_id"] for r in rows) == sorted(paid)
    assert [r["case_id"] for r in read(prefix, "cases", bucket)] == [case_id]
    again = await export(api.runtime.engine, uri, START, datetime.now(UTC), settle=NO_SETTLING)
    assert again.rows == {"decisions": 0, "labels": 0, "cases": 0}


async def test_the_export_gives_training_the_same_set_as_the_database(
    api: Api, tmp_path: Path
) -> None:
    paid = await pay(api, 6)
    for transaction_id in paid[1::3]:
        await label(api, transaction_id)
    end = datetime.now(UTC) + timedelta(seconds=1)
    await export(api.runtime.engine, str(tmp_path), START, end, settle=NO_SETTLING)
    from_database = await build_dataset(api.runtime.engine, START, end)
    from_export = frame_from_export(str(tmp_path), START, end)
    assert from_database["label"].sum() == 2
    pd.testing.assert_frame_equal(from_export, from_database, check_dtype=False)
