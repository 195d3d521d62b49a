"""Small display rules shared by the list, the thread and the panel."""

from __future__ import annotations

from datetime import datetime

from services.inbox.conversations import ConversationRow
from services.models.types import utcnow

from ..i18n import local_time, t

TICKS = {
    'queued': '🕓',
    'sending': '🕓',
    'unconfirmed': '⚠',
    'sent': '✓',
    'delivered': '✓✓',
    'read': '✓✓',
    'played': '✓✓',
    'failed': '⚠',
    'cancelled': '⊘',
    'blocked': '⊘',  # L2: the send gate kept it (opted out, not validated, low score); never sent
}
# T2: the countdown turns amber (and the holder may extend it) in its last minute.
AMBER_SECONDS = 60
PHASE_COLOURS = {'ai': 'purple', 'waiting': 'orange', 'assigned': 'blue', 'closed': 'grey'}


def offer_running(row: ConversationRow, *, now: datetime | None = None) -> bool:
    return row.offered_to is not None and row.offer_expires_at is not None and row.offer_expires_at > (now or utcnow())


def state_label(row: ConversationRow) -> str:
    """C3: AI mode / waiting for a person / who holds it / closed — the chip on every conversation."""
    if row.phase == 'closed':
        return t('takeover.state.closed')
    if row.phase == 'assigned':
        return row.assigned_to or t('chat.state.human_unassigned')
    if offer_running(row):
        return t('takeover.state.offered', name=row.offered_to)
    if row.phase == 'waiting':
        return t('takeover.state.waiting')
    return t('mode.ai')


def state_colour(row: ConversationRow) -> str:
    return PHASE_COLOURS.get(row.phase, 'purple')


def remaining_seconds(deadline: datetime | None, now: datetime) -> int | None:
    if deadline is None:
        return None
    return max(0, int((deadline - now).total_seconds()))


def clock(seconds: int) -> str:
    """4:05 for 245 s."""
    return f'{seconds // 60}:{seconds % 60:02d}'


def countdown_text(seconds: int) -> str:
    return t('takeover.countdown', time=clock(seconds)) if seconds > 0 else t('takeover.countdown_due')


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
