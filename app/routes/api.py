"""REST API v1 for other systems (X-API-Key, documented at /docs). A branch-scoped key only ever sees
its branch: another branch's conversation or message answers 404, exactly like one that does not exist."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, Field

from app.routes.dependencies import ApiViewer, DatabaseDep
from app.runtime import runtime
from services import branches
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.inbox import conversations
from services.inbox.conversations import ConversationRow
from services.models import BranchPublic, ConversationStatus, Message
from services.storable import has_unstorable
from services.whatsapp import outbox


class ErrorOut(BaseModel):
    detail: str


# What any operation may answer besides its own results (documented in the OpenAPI; schemathesis checks that every
# status code the API returns is documented, tests/e2e/test_openapi_schema.py).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {'model': ErrorOut, 'description': 'A query parameter the operation does not have (a typo would be ignored)'},
    401: {'model': ErrorOut, 'description': 'Missing or invalid X-API-Key'},
    503: {
        'model': ErrorOut,
        'description': 'The database is unavailable or did not answer within 10 s: retry after Retry-After seconds',
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {'model': ErrorOut, 'description': 'No such object, or one of a branch this key may not see'}
}
# A request body is at most this long (a text is ≤ 4096 characters, a template's variables fill ≤ 1024): 413 beyond.
MAX_BODY_BYTES = 256 * 1024


async def refuse_unknown_query(request: Request) -> None:
    """400 for a query parameter the operation does not declare: `?brnch_id=2` silently ignored would answer every
    branch's conversations to a caller who asked for one."""
    route = request.scope.get('route')
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params.keys()) - known)
    if unknown:
        raise HTTPException(status_code=400, detail=f'unknown query parameter(s): {", ".join(map(repr, unknown))}')


def _query_names(dependant: Dependant) -> set[str]:
    return {param.alias for param in dependant.query_params}.union(*map(_query_names, dependant.dependencies))


router = APIRouter(
    prefix='/api/v1',
    tags=['api'],
    responses=COMMON_RESPONSES,
    max_body_size=MAX_BODY_BYTES,
    dependencies=[Depends(refuse_unknown_query)],
)

# Database ids are 32-bit integers: a bigger number is a 422, never a database error (a 500).
ID_MAX = 2**31 - 1
ConversationId = Annotated[int, Path(ge=1, le=ID_MAX, description='A conversation id')]


def _storable(text: str) -> str:
    if has_unstorable(text):
        raise ValueError('contains a character that cannot be stored or sent (NUL or a lone surrogate)')
    return text


# Text from other systems is refused, not cleaned: the caller can correct it.
StorableText = Annotated[str, AfterValidator(_storable)]


class ConversationOut(ConversationRow):
    window_open: bool = Field(description='True while free text may be sent (24 h after the last inbound)')


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    whatsapp_message_id: str | None
    direction: str
    sender_kind: str
    type: str
    text: str
    status: str
    error_code: int | None
    error_title: str
    sent_at: datetime
    contact_phone: str | None = None


class SendText(BaseModel):
    type: Literal['text'] = 'text'
    text: StorableText = Field(min_length=1, max_length=4096)


class SendTemplate(BaseModel):
    type: Literal['template']
    template: StorableText = Field(
        min_length=1, max_length=512, description='Approved template name of the conversation number'
    )
    language: StorableText | None = Field(default=None, max_length=16)
    # A template body is at most 1024 characters (Meta): no variable can be longer.
    variables: list[Annotated[StorableText, Field(max_length=1024)]] = Field(default_factory=list, max_length=100)


def _message_out(message: Message, contact_phone: str | None = None) -> MessageOut:
    return MessageOut(
        id=message.id or 0,
        conversation_id=message.conversation_id,
        whatsapp_message_id=message.wa_message_id,
        direction=message.direction,
        sender_kind=message.sender_kind,
        type=message.type,
        text=message.text,
        status=message.status,
        error_code=message.error_code,
        error_title=message.error_title,
        sent_at=message.sent_at,
        contact_phone=contact_phone,
    )


def _not_found(exc: NotFound) -> HTTPException:
    return HTTPException(status_code=404, detail=str(exc))


@router.get('/branches', response_model=list[BranchPublic], summary='Branches this key may see')
async def list_branches(viewer: ApiViewer, db: DatabaseDep) -> list[BranchPublic]:
    return [BranchPublic.model_validate(branch) for branch in await branches.list_branches(db, viewer=viewer)]


@router.get('/conversations', response_model=list[ConversationOut], summary='Conversations, newest activity first')
async def list_conversations(
    viewer: ApiViewer,
    db: DatabaseDep,
    branch_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    status: Annotated[ConversationStatus | None, Query()] = ConversationStatus.OPEN,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=ID_MAX, description='Page on after this conversation id')] = None,
) -> list[ConversationOut]:
    rows = await conversations.list_conversations(
        db, viewer=viewer, branch_id=branch_id, status=status, limit=limit, before_id=before_id
    )
    return [_conversation_out(row) for row in rows]


def _conversation_out(row: ConversationRow) -> ConversationOut:
    return ConversationOut(**row.model_dump(), window_open=outbox.window_state_at(row.last_inbound_at).open)


@router.get(
    '/conversations/{conversation_id}/messages',
    response_model=list[MessageOut],
    summary="A conversation's messages, oldest first",
    responses=NOT_FOUND,
)
async def list_messages(
    conversation_id: ConversationId,
    viewer: ApiViewer,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=ID_MAX, description='Older than this message id')] = None,
) -> list[MessageOut]:
    try:
        messages = await conversations.list_messages(
            db, viewer=viewer, conversation_id=conversation_id, limit=limit, before_id=before_id
        )
    except NotFound as exc:
        raise _not_found(exc) from exc
    return [_message_out(message) for message in messages]


@router.post(
    '/conversations/{conversation_id}/messages',
    response_model=MessageOut,
    status_code=202,
    summary='Queue a text (inside the 24 h window) or an approved template',
    responses={
        400: {'model': ErrorOut, 'description': 'The body is not JSON (or not UTF-8)'},
        404: {'model': ErrorOut, 'description': 'No such conversation, or one of a branch this key may not see'},
        408: {'description': 'The body stopped arriving (text/plain)'},
        409: {'model': ErrorOut, 'description': 'Free text outside the 24 h window: send an approved template'},
        413: {'model': ErrorOut, 'description': f'The body is longer than {MAX_BODY_BYTES} bytes'},
        422: {'description': 'Invalid body, or an Idempotency-Key already used for a different request'},
    },
)
async def send_message(
    conversation_id: ConversationId,
    body: SendText | SendTemplate,
    viewer: ApiViewer,
    db: DatabaseDep,
    idempotency_key: Annotated[
        StorableText | None,
        Header(
            min_length=1,
            max_length=255,
            description='Any unique string per message (a UUID): a retry with the same key and body answers the '
            'message the first request queued (kept 24 h), never a second one',
        ),
    ] = None,
) -> MessageOut:
    bus = runtime().bus
    idempotency = None
    if idempotency_key is not None:
        asked = hashlib.sha256(f'{conversation_id}\n{body.model_dump_json()}'.encode()).hexdigest()
        idempotency = outbox.Idempotency(scope=viewer.username, key=idempotency_key, request_hash=asked)
    try:
        if isinstance(body, SendText):
            message = await outbox.queue_text(
                db,
                conversation_id=conversation_id,
                text=body.text,
                publisher=bus,
                viewer=viewer,
                idempotency=idempotency,
            )
        else:
            message = await outbox.queue_template(
                db,
                conversation_id=conversation_id,
                publisher=bus,
                viewer=viewer,
                template_name=body.template,
                language=body.language,
                variables=body.variables,
                idempotency=idempotency,
            )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except outbox.OutsideWindow as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except (InvalidInput, PermissionDenied, outbox.IdempotencyConflict) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return _message_out(message)


@router.get(
    '/messages/{whatsapp_message_id}',
    response_model=MessageOut,
    summary='One message by its WhatsApp id',
    responses=NOT_FOUND,
)
async def get_message(
    whatsapp_message_id: Annotated[StorableText, Path(max_length=128)], viewer: ApiViewer, db: DatabaseDep
) -> MessageOut:
    try:
        row = await conversations.get_message_by_wa_id(db, viewer=viewer, wa_message_id=whatsapp_message_id)
    except NotFound as exc:
        raise _not_found(exc) from exc
    return _message_out(row.message, row.contact_phone)
