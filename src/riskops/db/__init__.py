"""Database plumbing: engine, column types, metadata and the Alembic migrations."""

from riskops.db.engine import transaction

__all__ = ["transaction"]
