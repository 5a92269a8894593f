"""Database plumbing: engine, column types, metadata and the Alembic migrations."""
