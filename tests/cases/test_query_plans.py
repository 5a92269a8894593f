"""The queue's pages are index scans in the queue's own order on PostgreSQL: no sort of all
open cases per page (checked with EXPLAIN, sequential scans disabled so a tiny table does
not hide a missing index)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from riskops.cases import repository
from riskops.cases.schemas import CaseSort
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from tests.conftest import fresh_postgres_database


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sort", "index"),
    [
        (CaseSort.PRIORITY, "ix_cases_status_priority_id"),
        (CaseSort.AGE, "ix_cases_status_opened_at_id"),
        (CaseSort.SLA, "ix_cases_status_sla_due_at_id"),
    ],
)
async def test_queue_pages_read_an_index_in_order(sort: CaseSort, index: str) -> None:
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            where = repository.CaseFilter(status="open")
            value = 1.5 if sort is CaseSort.PRIORITY else datetime.now(UTC).isoformat()
            cursor = repository.encode(sort, value, "01J0000000000000000000000")
            plans = []
            async with engine.connect() as connection:
                await connection.execute(text("SET enable_seqscan = off"))
                for page in (None, cursor):
                    query = repository.queue_query(where, sort, 50, page)
                    compiled = query.compile(
                        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                    )
                    rows = await connection.execute(text(f"EXPLAIN {compiled}"))
                    plans.append("\n".join(r[0] for r in rows))
            for plan in plans:
                assert index in plan, plan
                assert "Sort" not in plan, plan
        finally:
            await engine.dispose()
