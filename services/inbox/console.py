"""What the agents' console (SPEC C1–C3) shows: a conversation's detail, its thread, the client panel,
canned responses and templates, and the edits agents make there.

Every function takes the `Viewer` and refuses what their branches do not allow (B2). Live pages receive
events and read rows through `SnapshotCache`, so twenty open pages cost one query per event, not twenty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, literal, null, union_all, update
from sqlalchemy.orm import aliased
from sqlmodel import col, or_, select

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import InvalidInput, NotFound
from ..events import CONVERSATION_UPDATED, Event, EventPublisher
from ..models import (
    AssignmentEvent,
    CannedResponse,
    ChannelKind,
    Contact,
    Conversation,
    ConversationLabel,
    Media,
    Message,
    MessageTemplate,
    Role,
    TemplateStatus,
    User,
    WhatsAppNumber,
)
from ..models.types import utcnow
from ..whatsapp.outbox import WindowState, window_state_at
from .conversations import (
    ROW_WIDTH,
    ConversationRow,
    conversation_row,
    conversation_select,
    get_conversation,
    row_from,
    visible_branch,
)

T = TypeVar('T')


class MediaView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    mime_type: str
    filename: str
    status: str  # pending, downloading, stored, failed
    has_thumbnail: bool
    size_bytes: int | None


class ThreadMessage(BaseModel):
    """One bubble of the thread. `text` is shown as text, never as HTML."""

    model_config = ConfigDict(frozen=True)

    id: int
    direction: str
    sender_kind: str
    sender_name: str  # the agent's name for agent messages; '' otherwise (the UI says customer / AI)
    type: str
    text: str
    status: str
    error_code: int | None
    error_title: str
    error_details: str
    sent_at: datetime
    media: MediaView | None
    fields: dict[str, Any]  # type-specific: location coordinates, interactive reply ids, reaction target…
    redacted: bool = False  # its content was removed by the branch's retention (O3); the bubble says so


class Attendance(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    user_name: str | None
    actor_name: str | None
    reason: str
    at: datetime


class ConversationDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: ConversationRow
    number_display: str
    number_label: str
    # cloud, simulator or waha: a WhatsApp-Web conversation gets a badge, and has no 24 h window (only Meta has it).
    number_channel: str
    contact_display_name: str
    contact_profile_name: str
    contact_email: str
    contact_notes: str
    window_open: bool
    window_closes_at: datetime | None
    labels: list[str]
    attended_by: list[Attendance]
    # C1/L1: the lead score the panel shows (services/leads/scoring.py), and whether the send gate would let a
    # business-initiated message through (validated, not opted out).
    contact_id: int = 0
    contact_score: int = 0
    contact_validated: bool = False
    contact_opted_out: bool = False


class Canned(BaseModel):
    model_config = ConfigDict(frozen=True)

    shortcut: str
    title: str
    body: str


class TemplateOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    language: str
    body: str
    variable_count: int


# --- reading ----------------------------------------------------------------------------------------------


_actor = aliased(User, name='actor')
# The detail's one query: the list row plus what the header and the client panel add to it.
_DETAIL_QUERY = conversation_select(
    Contact.email,
    Contact.notes,
    WhatsAppNumber.display_phone,
    WhatsAppNumber.label,
    WhatsAppNumber.channel,
    Contact.score_contactabilidad,
    Contact.validado_tecnicamente,
    Contact.opted_out_at,
).join(WhatsAppNumber, col(WhatsAppNumber.id) == col(Conversation.number_id), isouter=True)
HISTORY_LIMIT = 50


def _history_and_labels(conversation_id: int) -> Any:
    """The panel's history (newest HISTORY_LIMIT events, T5) and the conversation's labels in ONE statement:
    rows (action, user, actor, reason, at, is_label); a label row carries the label as its action. The history
    comes first so the union's columns take its types (timestamps come back aware on SQLite too)."""
    history = (
        select_columns(
            AssignmentEvent.action,
            User.full_name,
            _actor.full_name,
            AssignmentEvent.reason,
            AssignmentEvent.at,
            literal(False).label('is_label'),
        )
        .join(User, col(User.id) == col(AssignmentEvent.user_id), isouter=True)
        .join(_actor, col(_actor.id) == col(AssignmentEvent.actor_user_id), isouter=True)
        .where(AssignmentEvent.conversation_id == conversation_id)
        .order_by(col(AssignmentEvent.at).desc())
        .limit(HISTORY_LIMIT)
    ).subquery()
    labels = select_columns(
        ConversationLabel.label,
        null(),
        null(),
        literal(''),
        null(),
        literal(True),
    ).where(ConversationLabel.conversation_id == conversation_id)
    return union_all(select(*history.c), labels)


# A bubble's columns: not the Message entity (its raw payload, outbox bookkeeping and ORM state are not shown).
_MESSAGE_COLUMNS = (
    Message.id,
    Message.direction,
    Message.sender_kind,
    Message.type,
    Message.text,
    Message.status,
    Message.error_code,
    Message.error_title,
    Message.error_details,
    Message.sent_at,
    Message.payload,
    User.full_name,
    Media.id,
    Media.mime_type,
    Media.filename,
    Media.status,
    Media.thumbnail_path,
    Media.size_bytes,
)
_MESSAGE_QUERY = (
    select_columns(*_MESSAGE_COLUMNS, Conversation.branch_id)
    .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
    .join(User, col(User.id) == col(Message.sent_by_user_id), isouter=True)
    .join(Media, col(Media.id) == col(Message.media_id), isouter=True)
)


async def conversation_detail(db: Database, *, viewer: Viewer, conversation_id: int) -> ConversationDetail:
    """Header and client panel of one conversation: two statements on one connection, no transaction (each
    round trip costs more than the statement itself on a busy server)."""
    async with db.autocommit_session() as session:
        found = (await session.exec(_DETAIL_QUERY.where(col(Conversation.id) == conversation_id))).first()
        # Another branch's conversation is "not found": its existence is not revealed.
        if found is None or not viewer.can_see_branch(found[1]):
            raise NotFound(f'no conversation {conversation_id}')
        extras = (await session.exec(_history_and_labels(conversation_id))).all()
    labels = sorted(action for action, _, _, _, _, is_label in extras if is_label)
    history = sorted(
        ((action, name, actor, reason, at) for action, name, actor, reason, at, is_label in extras if not is_label),
        key=lambda event: event[4],
        reverse=True,
    )
    row = row_from(found)
    email, notes, number_display, number_label, number_channel, score, validated, opted_out_at = found[ROW_WIDTH:]
    display_name, profile_name = found[4], found[5]
    window = window_state_at(row.last_inbound_at)
    if number_channel == ChannelKind.WAHA:
        window = WindowState(open=True, closes_at=None)
    return ConversationDetail(
        row=row,
        number_display=number_display or '',
        number_label=number_label or '',
        number_channel=number_channel or '',
        contact_display_name=display_name,
        contact_profile_name=profile_name,
        contact_email=email,
        contact_notes=notes,
        window_open=window.open,
        window_closes_at=window.closes_at,
        labels=list(labels),
        attended_by=[
            Attendance(action=action, user_name=name, actor_name=actor, reason=reason, at=at)
            for action, name, actor, reason, at in history
        ],
        contact_id=found[3],
        contact_score=score or 0,
        contact_validated=bool(validated),
        contact_opted_out=opted_out_at is not None,
    )


async def thread(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    limit: int = 50,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[ThreadMessage]:
    """The newest `limit` messages oldest first; `before_id` pages back ("load older"), `after_id` fetches
    what arrived after the last shown one (resync after a reconnect)."""
    # The branch check is part of the query; only an empty answer needs a second look (no such conversation,
    # or simply nothing older).
    query = _MESSAGE_QUERY.where(
        Message.conversation_id == conversation_id, branch_scope(Conversation.branch_id, viewer)
    )
    async with db.autocommit_session() as session:
        if before_id is not None:
            anchor = (await session.exec(select(Message.id, Message.sent_at).where(Message.id == before_id))).first()
            if anchor is not None:
                query = query.where(
                    or_(
                        col(Message.sent_at) < anchor[1],
                        (col(Message.sent_at) == anchor[1]) & (col(Message.id) < before_id),
                    )
                )
        if after_id is not None:
            query = query.where(col(Message.id) > after_id)
        rows = (
            await session.exec(query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit))
        ).all()
        if not rows:
            await visible_branch(session, viewer=viewer, conversation_id=conversation_id)
    return [_thread_message(row) for row in reversed(rows)]


async def thread_message(db: Database, *, viewer: Viewer, message_id: int) -> ThreadMessage | None:
    """One message for a live page, or None if the viewer may not see it."""
    loaded = await _message_with_branch(db, message_id)
    return loaded[0] if loaded is not None and viewer.can_see_branch(loaded[1]) else None


async def _message_with_branch(db: Database, message_id: int) -> tuple[ThreadMessage, int] | None:
    async with db.autocommit_session() as session:
        row = (await session.exec(_MESSAGE_QUERY.where(Message.id == message_id))).first()
    return (_thread_message(row), row[-1]) if row is not None else None


def _thread_message(row: Any) -> ThreadMessage:
    """One result of `_MESSAGE_QUERY` as a bubble."""
    (
        id_,
        direction,
        sender_kind,
        type_,
        text,
        status,
        error_code,
        error_title,
        error_details,
        sent_at,
        payload,
        sender_name,
        media_id,
        mime_type,
        filename,
        media_status,
        thumbnail_path,
        size_bytes,
    ) = row[: len(_MESSAGE_COLUMNS)]
    return ThreadMessage(
        id=id_,
        direction=direction,
        sender_kind=sender_kind,
        sender_name=sender_name or '',
        type=type_,
        text=text,
        status=status,
        error_code=error_code,
        error_title=error_title,
        error_details=error_details,
        sent_at=sent_at,
        fields=payload.get('fields', {}) if payload else {},
        redacted=bool(payload and payload.get('redacted')),
        media=MediaView(
            id=media_id,
            mime_type=mime_type,
            filename=filename,
            status=media_status,
            has_thumbnail=bool(thumbnail_path),
            size_bytes=size_bytes,
        )
        if media_id is not None
        else None,
    )


async def media_for_viewer(db: Database, *, viewer: Viewer, media_id: int) -> Media:
    """A media row the viewer may open (through a message of a conversation of their branches)."""
    async with db.session() as session:
        row = (
            await session.exec(
                select(Media, Conversation.branch_id)
                .join(Message, col(Message.media_id) == col(Media.id))
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Media.id == media_id)
            )
        ).first()
    if row is None or not viewer.can_see_branch(row[1]):
        raise NotFound(f'no media {media_id}')
    return row[0]


async def canned_responses(db: Database, *, viewer: Viewer, branch_id: int) -> list[Canned]:
    """Quick replies for one branch: the branch's own and those for every branch."""
    viewer.require_branch(branch_id)
    async with db.autocommit_session() as session:
        rows = (
            await session.exec(
                select(CannedResponse.shortcut, CannedResponse.title, CannedResponse.body)
                .where(or_(col(CannedResponse.branch_id).is_(None), CannedResponse.branch_id == branch_id))
                .order_by(CannedResponse.shortcut)
            )
        ).all()
    return [Canned(shortcut=shortcut, title=title, body=body) for shortcut, title, body in rows]


async def approved_templates(db: Database, *, viewer: Viewer, conversation_id: int) -> list[TemplateOption]:
    """What may be sent outside the 24 h window from this conversation's number (M4)."""
    async with db.autocommit_session() as session:
        found = (
            await session.exec(
                select(Conversation.number_id, Conversation.branch_id).where(Conversation.id == conversation_id)
            )
        ).first()
        if found is None or not viewer.can_see_branch(found[1]):
            raise NotFound(f'no conversation {conversation_id}')
        rows = (
            await session.exec(
                select(MessageTemplate)
                .where(MessageTemplate.number_id == found[0], MessageTemplate.status == TemplateStatus.APPROVED)
                .order_by(MessageTemplate.name)
            )
        ).all()
    return [
        TemplateOption(name=row.name, language=row.language, body=row.body, variable_count=row.variable_count)
        for row in rows
    ]


# --- changing ---------------------------------------------------------------------------------------------


async def mark_read(db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher) -> None:
    """The agent opened the conversation: its unread counter goes to zero everywhere."""
    async with db.autocommit_session() as session:  # one conditional statement: atomic on its own
        branch_id = (
            await session.exec(
                update(Conversation)
                .where(
                    col(Conversation.id) == conversation_id,
                    col(Conversation.unread_count) > 0,
                    branch_scope(Conversation.branch_id, viewer),
                )
                .values(unread_count=0)
                .returning(col(Conversation.branch_id))
            )
        ).scalar_one_or_none()
        if branch_id is None:  # nothing to clear, or not the viewer's to clear
            await visible_branch(session, viewer=viewer, conversation_id=conversation_id)
            return
    await publisher.publish([Event(CONVERSATION_UPDATED, branch_id, conversation_id, {'reason': 'read'})])


async def update_contact(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    display_name: str,
    notes: str,
    email: str = '',
    publisher: EventPublisher,
) -> None:
    """Agents correct the customer's name and keep notes, from a conversation they may see."""
    if len(display_name) > 120 or len(notes) > 4000 or len(email) > 200:
        raise InvalidInput('name up to 120 characters, e-mail up to 200, notes up to 4000')
    async with db.session() as session:
        row = await conversation_row(session, viewer=viewer, conversation_id=conversation_id)
        await session.exec(
            update(Contact)
            .where(col(Contact.id) == row.contact_id)
            .values(display_name=display_name.strip(), notes=notes.strip(), email=email.strip(), updated_at=utcnow())
        )
        # Who changed a customer's data, never the data itself (O3).
        audit.record(session, action='contact.updated', actor=viewer, target_type='contact', target_id=row.contact_id)
        await session.commit()
    await publisher.publish([Event(CONVERSATION_UPDATED, row.branch_id, conversation_id, {'reason': 'contact'})])


async def set_labels(
    db: Database, *, viewer: Viewer, conversation_id: int, labels: list[str], publisher: EventPublisher
) -> list[str]:
    clean = sorted({label.strip().lower()[:40] for label in labels if label.strip()})
    async with db.session() as session:
        row = await conversation_row(session, viewer=viewer, conversation_id=conversation_id)
        await session.exec(delete(ConversationLabel).where(col(ConversationLabel.conversation_id) == conversation_id))
        session.add_all([ConversationLabel(conversation_id=conversation_id, label=label) for label in clean])
        await session.commit()
    await publisher.publish([Event(CONVERSATION_UPDATED, row.branch_id, conversation_id, {'reason': 'labels'})])
    return clean


# --- one query per event, not per page --------------------------------------------------------------------


class SnapshotCache:
    """Memo of recent reads keyed by what an event is about. When twenty pages react to the same event,
    the first one loads and the others await that same load; entries expire after `ttl` seconds."""

    def __init__(self, *, ttl: float = 2.0, max_entries: int = 2000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > self.ttl:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.ttl}
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._entries[key] = (now, future)
            try:
                future.set_result(await load())
            except Exception as exc:
                self._entries.pop(key, None)
                future.set_exception(exc)
                future.exception()  # retrieved here so a lone failure is not reported as never retrieved
                raise
            return future.result()
        return await asyncio.shield(entry[1])

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)


async def live_row(
    db: Database, cache: SnapshotCache, *, viewer: Viewer, conversation_id: int, version: Hashable = None
) -> ConversationRow | None:
    """The list row of a conversation for a live page (None when the viewer may not see it)."""

    async def load() -> ConversationRow | None:
        try:
            return await get_conversation(db, viewer=_SYSTEM, conversation_id=conversation_id)
        except NotFound:
            return None

    row = await cache.get(('row', conversation_id, version), load)
    return row if row is not None and viewer.can_see_branch(row.branch_id) else None


async def live_message(
    db: Database, cache: SnapshotCache, *, viewer: Viewer, message_id: int, version: Hashable = None
) -> ThreadMessage | None:
    """A message for live threads; loaded once per event for every page that shows it."""

    async def load() -> tuple[ThreadMessage, int] | None:
        return await _message_with_branch(db, message_id)

    loaded = await cache.get(('message', message_id, version), load)
    return loaded[0] if loaded is not None and viewer.can_see_branch(loaded[1]) else None


# Loads for the shared cache run as "everyone"; what each page gets is checked against its viewer above.
_SYSTEM = Viewer(user_id=None, username='system', full_name='system', role=Role.ADMIN, branch_id=None, branch_ids=None)
