"""Private notes in a conversation's thread (C1): what agents write to each other about a customer, shown among
the messages to the branch's agents and managers, never sent.

Notes live in their own table (`ConversationNote`, see its docstring for why not a `messages` row): the outbox,
the assistant and everything else that reads messages cannot see them. Who may read or write one is decided
here, by the conversation's branch (B2), whatever page or API calls.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..events import Event, EventPublisher
from ..models import Conversation, ConversationNote, User
from ..models.types import utcnow
from ..storable import has_unstorable
from .conversations import visible_branch

NOTE_CREATED = 'note.created'  # data: {'note_id'}; published to the conversation's branch only
NOTE_MAX_CHARS = 2000


class NoteView(BaseModel):
    """One private note as the thread shows it. `text` is shown as text, never as HTML."""

    model_config = ConfigDict(frozen=True)

    id: int
    conversation_id: int
    author_name: str
    text: str
    created_at: datetime


_NOTE_QUERY = (
    select(ConversationNote, User.full_name, Conversation.branch_id)
    .join(Conversation, col(Conversation.id) == col(ConversationNote.conversation_id))
    .join(User, col(User.id) == col(ConversationNote.author_id), isouter=True)
)


def _view(note: ConversationNote, author: str | None) -> NoteView:
    return NoteView(
        id=note.id or 0,
        conversation_id=note.conversation_id,
        author_name=author or '',
        text=note.text,
        created_at=note.created_at,
    )


async def add_note(
    db: Database, *, viewer: Viewer, conversation_id: int, text: str, publisher: EventPublisher
) -> NoteView:
    """Write a private note in a conversation the viewer may see; the branch's open pages show it at once."""
    text = text.strip()
    if not text:
        raise InvalidInput('the note is empty')
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput(f'a note is limited to {NOTE_MAX_CHARS} characters ({len(text)} given)')
    if has_unstorable(text):
        raise InvalidInput('the note contains a character that cannot be stored (NUL or a broken emoji)')
    if viewer.user_id is None:
        raise PermissionDenied('notes are written by a signed-in person')
    now = utcnow()
    async with db.session() as session:
        branch_id = await visible_branch(session, viewer=viewer, conversation_id=conversation_id)
        note = ConversationNote(conversation_id=conversation_id, author_id=viewer.user_id, text=text, created_at=now)
        session.add(note)
        await session.flush()
        # Who wrote a note and where, never what it says (O3).
        audit.record(
            session, action='note.created', actor=viewer, target_type='conversation', target_id=conversation_id
        )
        await session.commit()
        view = _view(note, viewer.full_name)
    await publisher.publish([Event(NOTE_CREATED, branch_id, conversation_id, {'note_id': view.id})])
    return view


async def list_notes(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[NoteView]:
    """A conversation's notes written in [since, until), oldest first (the newest `limit` of them)."""
    query = _NOTE_QUERY.where(
        ConversationNote.conversation_id == conversation_id, branch_scope(Conversation.branch_id, viewer)
    )
    if since is not None:
        query = query.where(col(ConversationNote.created_at) >= since)
    if until is not None:
        query = query.where(col(ConversationNote.created_at) < until)
    async with db.autocommit_session() as session:
        rows = (
            await session.exec(
                query.order_by(col(ConversationNote.created_at).desc(), col(ConversationNote.id).desc()).limit(limit)
            )
        ).all()
        if not rows:  # nothing written, or not the viewer's to read: only the second is an error
            await visible_branch(session, viewer=viewer, conversation_id=conversation_id)
    return [_view(note, author) for note, author, _ in reversed(rows)]


async def get_note(db: Database, *, viewer: Viewer, note_id: int) -> NoteView:
    """One note for a live page; another branch's is "not found"."""
    async with db.autocommit_session() as session:
        row = (await session.exec(_NOTE_QUERY.where(ConversationNote.id == note_id))).first()
    if row is None or not viewer.can_see_branch(row[2]):
        raise NotFound(f'no note {note_id}')
    return _view(row[0], row[1])
