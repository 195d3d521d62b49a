"""Logging for the web and worker processes (SPEC O4): plain text for a terminal, or JSON lines for a log shipper
(`LEADMASTER_LOG_FORMAT=json`), each line carrying the ids bound by `services.log_context.log_ids`: the request,
the webhook delivery, the message, the conversation it was about."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from services.log_context import current_ids

LogFormat = Literal['text', 'json']


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, process, message, the bound ids, and the
    exception's traceback as one string when there is one."""

    def __init__(self, *, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            'time': datetime.fromtimestamp(record.created, UTC).isoformat(timespec='milliseconds'),
            'level': record.levelname.lower(),
            'logger': record.name,
            'process': self.process,
            'message': record.getMessage(),
            **getattr(record, 'ids', {}),
        }
        if record.exc_info:
            line['exception'] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextWithIds(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = getattr(record, 'ids', {})
        return text + (' [' + ' '.join(f'{key}={value}' for key, value in ids.items()) + ']' if ids else '')


class _BindIds(logging.Filter):
    """Copies the bound ids onto the record when it is made (in the task that logs), not when it is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.ids = dict(current_ids())
        return True


def configure_logging(*, process: str, log_format: LogFormat, level: int = logging.WARNING) -> None:
    """Root handler on stderr for this process: libraries at WARNING (httpx would log every request), our own
    loggers at INFO (a handful of lines: starts, stops, a retention sweep, a body that timed out)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_BindIds())
    if log_format == 'json':
        handler.setFormatter(JsonLines(process=process))
    else:
        handler.setFormatter(TextWithIds(f'%(asctime)s {process} %(levelname)s %(name)s: %(message)s'))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for ours in ('leadmaster', 'app', 'services'):
        logging.getLogger(ours).setLevel(logging.INFO)
