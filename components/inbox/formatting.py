"""Small display rules shared by the list, the thread and the panel."""

from __future__ import annotations

from datetime import datetime

from services.conversations import ConversationRow
from services.models.types import utcnow

from ..i18n import local_time, t

TICKS = {
    'queued': '🕓', 'sending': '🕓', 'unconfirmed': '⚠', 'sent': '✓', 'delivered': '✓✓', 'read': '✓✓',
    'played': '✓✓', 'failed': '⚠', 'cancelled': '⊘',
}


def state_label(row: ConversationRow) -> str:
    """C3: AI mode / human active (who) — the chip on every conversation."""
    if row.mode == 'ai':
        return t('mode.ai')
    return row.assigned_to or t('chat.state.human_unassigned')


def waiting_minutes(row: ConversationRow, *, now: datetime | None = None) -> int | None:
    if row.waiting_since is None:
        return None
    return max(0, int(((now or utcnow()) - row.waiting_since).total_seconds() // 60))


def short_time(moment: datetime | None) -> str:
    """Today: 14:32; before: 21/11."""
    if moment is None:
        return ''
    return local_time(moment, '%H:%M' if local_time(moment, '%d/%m') == local_time(utcnow(), '%d/%m') else '%d/%m')


def preview(text: str) -> str:
    """Conversation previews store '[image]' for media without caption; show it in the user's language."""
    if text.startswith('[') and text.endswith(']') and ' ' not in text:
        kind = f'chat.kind.{text[1:-1]}'
        translated = t(kind)
        return translated if translated != kind else text
    return text
