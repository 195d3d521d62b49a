"""UI text in Spanish (es-AR, the default) and English.

Why not gettext: the UI has a few hundred strings and no translators; a dict keeps each phrase
and its translation side by side, and a test checks every key has both languages. The phrases live in
`components/texts/`, one module per feature, merged into `TEXTS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import app

from components.texts import TEXTS

LOCALES = ('es', 'en')
_default_locale = 'es'
_display_zone = ZoneInfo('America/Argentina/Buenos_Aires')


def configure(*, default_locale: str, display_timezone: str) -> None:
    """Called once at start with `LEADMASTER_DEFAULT_LOCALE` and `LEADMASTER_DISPLAY_TIMEZONE`."""
    global _default_locale, _display_zone  # noqa: PLW0603 - process-wide settings, written once at start
    _default_locale = default_locale if default_locale in LOCALES else 'es'
    _display_zone = ZoneInfo(display_timezone)


def local_time(moment: datetime | None, pattern: str = '%d/%m %H:%M') -> str:
    """A stored UTC moment as the branch staff read it (Argentina by default)."""
    return moment.astimezone(_display_zone).strftime(pattern) if moment else ''


def format_count(number: int) -> str:
    """A whole number as the reader writes it: `1.234` in Spanish (es-AR), `1,234` in English."""
    grouped = f'{number:,}'
    return grouped.replace(',', '.') if current_locale() == 'es' else grouped


def default_locale() -> str:
    """The locale of users who chose none (`LEADMASTER_DEFAULT_LOCALE`)."""
    return _default_locale


def current_locale() -> str:
    """The locale chosen in this browser, else the default; outside a page (tests, CLI) the default."""
    try:
        locale = app.storage.user.get('locale')
    except (RuntimeError, AssertionError):
        return _default_locale
    return locale if locale in LOCALES else _default_locale


def t(key: str, **params: Any) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key  # visible in the UI and caught by the i18n test, rather than crashing a page
    text = entry.get(current_locale()) or entry['es']
    return text.format(**params) if params else text
