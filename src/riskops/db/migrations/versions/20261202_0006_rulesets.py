"""rulesets: database versions, maker-checker drafts, background jobs; the shipped TOML as v1

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:30:00.000000
"""

import hashlib
import json
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# The file as shipped when this migration was written: later edits to it must not change
# what version 1 was, so the import below is self-contained (no riskops.rules import).
TOML = Path(__file__).resolve().parents[3] / "rules" / "default_ruleset.toml"
FIELDS = ("id", "name", "description", "expression", "action", "reason_code", "severity")


def _imported_rules() -> list[dict[str, Any]]:
    document = tomllib.loads(TOML.read_text(encoding="utf-8"))
    rules = []
    for raw in document["rules"]:
        rule = {name: str(raw[name]).strip() for name in FIELDS}
        # The API says "approve" for the allow-list override the TOML spells approve_override.
        if rule["action"] == "approve_override":
            rule["action"] = "approve"
        rule["mode"] = "active"
        if raw.get("enabled", True) is False:
            continue  # a disabled rule has no place in a version: drafts remove rules instead
        rules.append(rule)
    return rules


def _checksum(rules: list[dict[str, Any]]) -> str:
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def upgrade() -> None:
    versions = op.create_table(
        "ruleset_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=128), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=True),
        sa.Column("approver_name", sa.String(length=128), nullable=True),
        sa.Column("draft_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_ruleset_versions")),
    )
    with op.batch_alter_table("ruleset_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ruleset_versions_status"), ["status"])
    op.create_table(
        "ruleset_drafts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("backtest", JSON, nullable=True),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("reviewer_name", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_drafts")),
    )
    with op.batch_alter_table("ruleset_drafts", schema=None) as batch_op:
        for column in ("author", "status"):
            batch_op.create_index(batch_op.f(f"ix_ruleset_drafts_{column}"), [column])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for column in ("kind", "status", "subject"):
            batch_op.create_index(batch_op.f(f"ix_jobs_{column}"), [column])
    rules = _imported_rules()
    now = datetime.now(UTC)
    op.bulk_insert(
        versions,
        [
            {
                "version": 1,
                "rules": rules,
                "checksum": _checksum(rules),
                "comment": "imported from the shipped rules/default_ruleset.toml",
                "author": "system",
                "author_name": "RiskOps (shipped ruleset)",
                "approver": None,
                "approver_name": None,
                "draft_id": None,
                "status": "active",
                "created_at": now,
                "activated_at": now,
            }
        ],
    )


def downgrade() -> None:
    for table, columns in (
        ("jobs", ("kind", "status", "subject")),
        ("ruleset_drafts", ("author", "status")),
        ("ruleset_versions", ("status",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
