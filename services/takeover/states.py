"""The state machine of a conversation's mode and assignment (T1), as an explicit table.

A conversation is in one of four phases, derived from its columns rather than stored beside them, so no
writer (ingest, the demo seed, an import) can leave a phase that contradicts `assigned_user_id` or `status`:

    AI        open, nobody holds it, the AI answers
    WAITING   open, nobody holds it, a person is wanted ("Espera humano"): the AI handed over, the holder
              timed out, an agent left it for a colleague, or the AI was paused
    ASSIGNED  an agent holds it (human mode): the AI never sends
    CLOSED    closed

`MOVES` lists every allowed change: which phases it may start from and where it leads. Each move is executed
as ONE conditional UPDATE whose WHERE clause is `phase_in(move.sources)` (plus the move's own conditions), so
the database, not a read made a moment earlier, decides whether it still applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from ..models import Conversation, ConversationMode, ConversationStatus, table_of


class Phase(StrEnum):
    AI = 'ai'
    WAITING = 'waiting'
    ASSIGNED = 'assigned'
    CLOSED = 'closed'


class Action(StrEnum):
    """What the history (`assignment_events.action`) records."""

    TAKE = 'take'
    RELEASE = 'release'
    TIMEOUT = 'timeout'
    REASSIGN = 'reassign'
    RULE = 'rule'
    CLOSE = 'close'
    REOPEN = 'reopen'
    AI_ON = 'ai_on'
    AI_OFF = 'ai_off'
    HANDOFF = 'handoff'
    OFFER = 'offer'
    OFFER_EXPIRED = 'offer_expired'
    FAITHFUL = 'faithful'


OPEN = frozenset({Phase.AI, Phase.WAITING, Phase.ASSIGNED})
UNASSIGNED = frozenset({Phase.AI, Phase.WAITING})


@dataclass(frozen=True)
class Move:
    action: Action  # the history row it writes
    sources: frozenset[Phase]
    target: Phase | None  # None: the phase stays what it was (offers, faithful marks)


MOVES: dict[str, Move] = {
    'take': Move(Action.TAKE, UNASSIGNED, Phase.ASSIGNED),
    'rule': Move(Action.RULE, UNASSIGNED, Phase.ASSIGNED),
    'reassign': Move(Action.REASSIGN, OPEN, Phase.ASSIGNED),
    'release_to_ai': Move(Action.RELEASE, frozenset({Phase.ASSIGNED}), Phase.AI),
    'release_to_queue': Move(Action.RELEASE, frozenset({Phase.ASSIGNED}), Phase.WAITING),
    'timeout': Move(Action.TIMEOUT, frozenset({Phase.ASSIGNED}), Phase.WAITING),
    'ai_on': Move(Action.AI_ON, frozenset({Phase.WAITING, Phase.ASSIGNED}), Phase.AI),
    'ai_off': Move(Action.AI_OFF, UNASSIGNED, Phase.WAITING),
    'handoff': Move(Action.HANDOFF, frozenset({Phase.AI}), Phase.WAITING),
    'close': Move(Action.CLOSE, OPEN, Phase.CLOSED),
    'reopen': Move(Action.REOPEN, frozenset({Phase.CLOSED}), Phase.AI),
    'offer': Move(Action.OFFER, UNASSIGNED, None),
    'offer_expired': Move(Action.OFFER_EXPIRED, UNASSIGNED, None),
    'faithful': Move(Action.FAITHFUL, OPEN | {Phase.CLOSED}, None),
}


def phase_of(*, status: str, mode: str, assigned_user_id: int | None, human_requested_at: Any) -> Phase:
    """The phase of a row already read (pages, lists); `phase_in` is the same rule in SQL."""
    if status == ConversationStatus.CLOSED:
        return Phase.CLOSED
    if assigned_user_id is not None:
        return Phase.ASSIGNED
    if human_requested_at is not None or mode == ConversationMode.HUMAN:
        return Phase.WAITING
    return Phase.AI


def _phase_condition(phase: Phase) -> ColumnElement[bool]:
    table = table_of(Conversation)
    is_open = table.c.status == ConversationStatus.OPEN
    unassigned = table.c.assigned_user_id.is_(None)
    wants_person = or_(table.c.human_requested_at.is_not(None), table.c.mode == ConversationMode.HUMAN)
    if phase == Phase.CLOSED:
        return table.c.status == ConversationStatus.CLOSED
    if phase == Phase.ASSIGNED:
        return and_(is_open, table.c.assigned_user_id.is_not(None))
    if phase == Phase.WAITING:
        return and_(is_open, unassigned, wants_person)
    return and_(is_open, unassigned, ~wants_person)


def phase_in(phases: frozenset[Phase]) -> ColumnElement[bool]:
    if not phases:
        return false()
    return or_(*(_phase_condition(phase) for phase in sorted(phases)))
