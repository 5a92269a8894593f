"""The write-connection dependency: one transaction per request, committed before the answer."""

from pathlib import Path
from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from riskops.api import errors
from riskops.api.deps import WriteConnection
from riskops.core.errors import Conflict
from riskops.db.engine import create_engine


async def test_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'write.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (body TEXT)"))

    async def stored() -> list[str]:
        async with engine.connect() as connection:
            return list((await connection.execute(text("SELECT body FROM notes"))).scalars())

    app = FastAPI()
    errors.install(app)
    app.state.runtime = SimpleNamespace(engine=engine)

    @app.post("/notes/{body}", status_code=201)
    async def keep(body: str, connection: WriteConnection) -> dict[str, list[str]]:
        await connection.execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})
        return {"before_commit": await stored()}  # another connection: not visible yet

    @app.post("/refused/{body}")
    async def refuse(body: str, connection: WriteConnection) -> None:
        await connection.execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})
        raise Conflict("refused after writing")

    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            kept = await client.post("/notes/kept")
            assert kept.status_code == 201
            assert kept.json() == {"before_commit": []}
            assert await stored() == ["kept"]  # durable by the time the answer arrived

            refused = await client.post("/refused/lost")
            assert refused.status_code == 409
            assert await stored() == ["kept"]  # the handler's write was rolled back
    finally:
        await engine.dispose()
