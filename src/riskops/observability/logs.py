"""Log lines as text or JSON, each with its request id, never with a card number or an API key.

`RISKOPS_LOG_FORMAT=json` writes one JSON object per line for a log shipper; the default is
text for people. Both go through the same redaction, because a message can quote input.
"""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Final, Literal

from riskops.core.context import current_request_id

LogFormat = Literal["text", "json"]

# A run of 12-19 digits, optionally spaced or dashed, reads as a card number; keys are ours.
_CARD: Final = re.compile(r"\b\d(?:[ -]?\d){11,18}\b")
_API_KEY: Final = re.compile(r"\brk_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    return _API_KEY.sub("rk_[redacted]", _CARD.sub("[card redacted]", text))


class _Formatter(logging.Formatter):
    def __init__(self, kind: LogFormat) -> None:
        super().__init__("%(levelname)s:     %(name)s: %(message)s")
        self.kind = kind

    def format(self, record: logging.LogRecord) -> str:
        request_id = current_request_id.get()
        if self.kind == "text":
            line = redact(super().format(record))
            return f"{line} [request {request_id}]" if request_id else line
        document: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if request_id:
            document["request_id"] = request_id
        if record.exc_info:
            document["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(document, ensure_ascii=False)


def configure_logging(kind: LogFormat) -> None:
    """One handler on the root logger: the product's INFO lines and uvicorn's, in one format."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter(kind))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("riskops", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
