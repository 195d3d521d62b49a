"""Sending through a WA-Web session for other systems (seed 000's `/send`): refused with the reason unless the
session is READY and an admin allowed sending on it; otherwise queued in the durable outbox like any reply (the
outbox paces it and never sends it twice)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from ..access import Viewer
from ..database import Database
from ..errors import ServiceError
from ..events import EventPublisher
from ..models import Contact, Message, SenderKind, SessionState
from ..models.types import utcnow
from ..phones import normalize_phone, wa_digits
from ..whatsapp import outbox
from ..whatsapp.ingest import open_conversation_id
from .service import get_session


class SessionCannotSend(ServiceError):
    """The session is not READY, or sending is not allowed on it: a 503 with this reason for the API."""


@dataclass(frozen=True)
class QueuedSend:
    message: Message
    conversation_id: int


async def queue_session_text(
    db: Database, *, name: str, to: str, text: str, viewer: Viewer, publisher: EventPublisher
) -> QueuedSend:
    current = await get_session(db, name=name, viewer=viewer)
    if current.state != SessionState.READY:
        raise SessionCannotSend(f'session {name!r} is {current.state}, not READY: {current.reason}')
    if not current.sending_enabled:
        raise SessionCannotSend(f'session {name!r} is listen-only: an admin must allow sending on it')
    phone = normalize_phone(to)
    now = utcnow()
    async with db.session() as session:
        contact = (await session.exec(select(Contact).where(col(Contact.phone_e164) == phone))).first()
        if contact is None:
            contact = Contact(phone_e164=phone, wa_id=wa_digits(phone), created_at=now, updated_at=now)
            session.add(contact)
            await session.flush()
        conversation_id = await open_conversation_id(
            session,
            db.dialect,
            contact_id=contact.id or 0,
            number_id=current.number_id,
            branch_id=current.branch_id,
        )
        await session.commit()
    message = await outbox.queue_text(
        db,
        conversation_id=conversation_id,
        text=text,
        publisher=publisher,
        viewer=viewer,
        sender_kind=SenderKind.AGENT,
    )
    return QueuedSend(message, conversation_id)
