"""WhatsApp ids as WAHA writes them: chat ids (`…@c.us`, `…@g.us`, `…@lid`, `…@s.whatsapp.net`) and serialized
message ids (`{fromMe}_{chatId}_{id}[_{participant}]`, e.g. `false_11111111111@c.us_AAAA`).

Sources: waha-docs content/docs/how-to/receive-messages/-chat-ids.md, content/docs/how-to/events/index.md
(message.ack.group, message.edited), content/docs/how-to/send-messages/index.md (sendSeen in groups).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

USER_SUFFIX = '@c.us'
GROUP_SUFFIX = '@g.us'
LID_SUFFIX = '@lid'
# GOWS/NOWEB internals (`_data`) use it; WAHA asks to convert it to @c.us before using it as a chat id.
JID_SUFFIX = '@s.whatsapp.net'
_DEVICE = re.compile(r':\d+(?=@)')  # `5511953523741:1@s.whatsapp.net`: a linked device of that user


def normalize_chat_id(chat_id: str) -> str:
    """`123@s.whatsapp.net` and `123:4@s.whatsapp.net` → `123@c.us`; other ids unchanged."""
    chat_id = _DEVICE.sub('', chat_id.strip())
    if chat_id.endswith(JID_SUFFIX):
        return chat_id[: -len(JID_SUFFIX)] + USER_SUFFIX
    return chat_id


def phone_of(chat_id: str | None) -> str | None:
    """The phone digits of a user chat id (`5491155550101@c.us`); None for groups, `@lid`, channels…"""
    if not chat_id:
        return None
    chat_id = normalize_chat_id(chat_id)
    if not chat_id.endswith(USER_SUFFIX):
        return None
    user = chat_id[: -len(USER_SUFFIX)]
    return user if user.isdigit() else None


def chat_id_for_phone(phone: str) -> str:
    """`+54 9 11 5555-0101` → `5491155550101@c.us` (WAHA wants the international number without `+`)."""
    digits = ''.join(ch for ch in phone if ch.isdigit())
    if not digits:
        raise ValueError(f'not a phone number: {phone!r}')
    return digits + USER_SUFFIX


def is_group(chat_id: str | None) -> bool:
    return bool(chat_id) and str(chat_id).endswith(GROUP_SUFFIX)


def is_lid(chat_id: str | None) -> bool:
    return bool(chat_id) and str(chat_id).endswith(LID_SUFFIX)


@dataclass(frozen=True, slots=True)
class MessageId:
    """A serialized WAHA message id taken apart."""

    from_me: bool
    chat_id: str
    key: str  # WhatsApp's own id (`3EB0…`), what `editedMessageId` / `revokedMessageId` carry
    participant: str | None = None

    @property
    def serialized(self) -> str:
        tail = f'_{self.participant}' if self.participant else ''
        return f'{str(self.from_me).lower()}_{self.chat_id}_{self.key}{tail}'


def parse_message_id(message_id: str) -> MessageId | None:
    """Take `true_123@c.us_3EB0…[_participant]` apart; None when it is not in that form (e.g. a bare key)."""
    head, sep, rest = message_id.partition('_')
    if not sep or head not in ('true', 'false'):
        return None
    chat_id, sep, rest = rest.partition('_')
    if not sep or '@' not in chat_id or not rest:
        return None
    key, _, participant = rest.partition('_')
    return MessageId(head == 'true', chat_id, key, participant or None)


def new_message_key() -> str:
    """A WhatsApp-Web-like message key: `3EB0` and 18 upper-case hex digits (what WEBJS/NOWEB/GOWS send)."""
    return '3EB0' + secrets.token_hex(9).upper()


def new_message_id(chat_id: str, *, from_me: bool, participant: str | None = None) -> str:
    return MessageId(from_me, chat_id, new_message_key(), participant).serialized
