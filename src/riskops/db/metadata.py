"""Imports every table module so the metadata is complete (Alembic and tests use this)."""

from riskops.analytics import models as analytics_models
from riskops.audit import models as audit_models
from riskops.auth import models as auth_models
from riskops.cases import models as case_models
from riskops.db.base import Base
from riskops.decisions import models as decision_models
from riskops.events import models as event_models
from riskops.investigations import models as investigation_models
from riskops.jobs import models as job_models
from riskops.labels import models as label_models
from riskops.ledger import models as ledger_models
from riskops.lists import models as list_models
from riskops.ml import models as ml_models
from riskops.recommendations import models as recommendation_models
from riskops.rulesets import models as ruleset_models
from riskops.similarity import models as similarity_models

__all__ = [
    "Base",
    "analytics_models",
    "audit_models",
    "auth_models",
    "case_models",
    "decision_models",
    "event_models",
    "investigation_models",
    "job_models",
    "label_models",
    "ledger_models",
    "list_models",
    "ml_models",
    "recommendation_models",
    "ruleset_models",
    "similarity_models",
]

metadata = Base.metadata
