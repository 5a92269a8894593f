"""`riskops records reembed`: a new version next to the serving one, resumable."""

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.cli import app as cli
from riskops.similarity import repository
from riskops.similarity.index import EmbeddingId
from tests.conftest import create_keys, make_settings
from tests.payments import new_key, payment


async def _decisions(data_dir: Path, count: int) -> None:
    app = create_app(make_settings(data_dir, embeddings_enabled=False))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(count):
                response = await client.post(
                    "/v1/transactions",
                    json=payment(amount_minor=500 + 1_000 * i),
                    headers={"Authorization": f"Bearer {keys[Role.SERVICE]}",
                             "Idempotency-Key": new_key()},
                )  # fmt: skip
                assert response.status_code == 201
        await runtime.embedding_tasks.catch_up()  # the serving version: features/1


async def _counts(data_dir: Path) -> tuple[int, int]:
    app = create_app(make_settings(data_dir, embeddings_enabled=False))
    async with app.router.lifespan_context(app), app.state.runtime.engine.connect() as c:
        return (
            await repository.count_embedded(c, EmbeddingId("features", "1")),
            await repository.count_embedded(c, EmbeddingId("features", "2")),
        )


def test_reembed_backfills_a_new_version_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_decisions(tmp_path, 6))
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RISKOPS_CARD_TOKEN_SECRET", "test-card-token-secret-0123456789abcdef")
    runner = CliRunner()
    args = ["records", "reembed", "--from", "features/1", "--to", "features/2", "--batch", "4"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "embedded 6 records with features/2" in first.output
    assert asyncio.run(_counts(tmp_path)) == (6, 6)  # the old version is untouched
    again = runner.invoke(cli, args)
    assert again.exit_code == 0
    assert "embedded 0 records with features/2 (6 in all)" in again.output
    same = runner.invoke(cli, ["records", "reembed", "--from", "features/1", "--to", "features/1"])
    assert same.exit_code == 2
