"""Run the Alembic migrations, the only source of the schema."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action: "object") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        action(config)  # type: ignore[operator]

    async with engine.begin() as connection:
        await connection.run_sync(run)
