"""What request handlers may use of the composition root, as a Protocol.

`riskops.runtime.Runtime` satisfies it; the API never imports the runtime (which imports
every domain), so routers and the process that wires them stay apart.
"""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from riskops.auth.rate_limits import TokenBuckets
    from riskops.auth.service import KeyVerifier
    from riskops.auth.tokens import TokenVerifier
    from riskops.decisions.pipeline import DecisionPipeline
    from riskops.events.workers import EventWorkers
    from riskops.features import OnlineStore
    from riskops.investigations.narrative import Narrator
    from riskops.jobs.runner import JobRunner
    from riskops.labels.service import LabelService
    from riskops.ledger.service import BalanceService
    from riskops.lists.tasks import ListPoller
    from riskops.ml.serving import ModelServer
    from riskops.ml.tasks import ModelTasks
    from riskops.rulesets.reload import RulesetWatcher
    from riskops.settings import Settings
    from riskops.similarity.service import Similarity


class Runtime(Protocol):
    @property
    def settings(self) -> "Settings": ...

    @property
    def engine(self) -> "AsyncEngine": ...

    @property
    def keys(self) -> "KeyVerifier": ...

    @property
    def tokens(self) -> "TokenVerifier | None": ...

    @property
    def payment_limits(self) -> "TokenBuckets": ...

    @property
    def console_limits(self) -> "TokenBuckets": ...

    @property
    def pipeline(self) -> "DecisionPipeline": ...

    @property
    def balances(self) -> "BalanceService": ...

    @property
    def models(self) -> "ModelServer": ...

    @property
    def model_tasks(self) -> "ModelTasks": ...

    @property
    def store(self) -> "OnlineStore": ...

    @property
    def events(self) -> "EventWorkers": ...

    @property
    def lists(self) -> "ListPoller": ...

    @property
    def jobs(self) -> "JobRunner": ...

    @property
    def rulesets(self) -> "RulesetWatcher": ...

    @property
    def labels(self) -> "LabelService": ...

    @property
    def similarity(self) -> "Similarity": ...

    @property
    def narrator(self) -> "Narrator": ...
