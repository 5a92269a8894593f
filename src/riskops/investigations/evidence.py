"""Evidence items: what every later step (patterns, recommendation, narrative) cites by id."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str  # "E3" from the context tool, "S2" from the similarity tool
    kind: str  # transaction | decision | rule_hit | label | case | history | block_list | ...
    summary: str  # one line a person reads on the evidence card
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EvidenceBag:
    """Hands out ids in order under one prefix, so tools running side by side never clash."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[Evidence] = []

    def add(self, kind: str, summary: str, **data: Any) -> str:
        item = Evidence(f"{self.prefix}{len(self.items) + 1}", kind, summary, data)
        self.items.append(item)
        return item.id
