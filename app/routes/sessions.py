"""WhatsApp-Web sessions for other systems (seed 000's API, SPEC M6): the real state, the QR while one is needed,
and sending while the session is READY and allowed to send. X-API-Key; a branch-scoped key sees only its branch's
sessions (another branch's answers 404, like one that does not exist)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.routes.api import COMMON_RESPONSES, MAX_BODY_BYTES, ErrorOut, StorableText, refuse_unknown_query
from app.routes.dependencies import ApiViewer, DatabaseDep
from app.runtime import runtime
from services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.sessions.control import GatewayUnavailable
from services.sessions.sending import SessionCannotSend, queue_session_text
from services.sessions.service import get_session, status_document

router = APIRouter(
    prefix='/api/v1/sessions',
    tags=['sessions'],
    responses=COMMON_RESPONSES,
    max_body_size=MAX_BODY_BYTES,
    dependencies=[Depends(refuse_unknown_query)],
)

SessionName = Annotated[str, Path(min_length=1, max_length=64, pattern=r'^[A-Za-z0-9_-]+$')]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {'model': ErrorOut, 'description': 'No such session, or one of a branch this key may not see'}
}


class SessionStatusOut(BaseModel):
    name: str
    state: str = Field(description='INITIALIZING, QR_REQUIRED, READY, DISCONNECTED or FAILED')
    gateway_status: str = Field(description="WAHA's own status, as it said it (kept even when new to us)")
    connected: bool
    needs_qr: bool
    is_recoverable: bool = Field(description='Can come back without a person touching the phone')
    recommended_action: str = Field(description='none, wait, scan_qr, confirm_passkey, start, restart or check_gateway')
    reason: str
    since: datetime
    last_event_at: datetime | None
    sending_allowed: bool


class SessionSend(BaseModel):
    to: StorableText = Field(min_length=6, max_length=32, description="The customer's phone, e.g. +5491155550101")
    text: StorableText = Field(min_length=1, max_length=4096)


class SessionSendOut(BaseModel):
    outbox_id: int = Field(description='The queued message (GET /api/v1/conversations/{id}/messages shows it)')
    conversation_id: int
    status: str


@router.get('/{name}/status', response_model=SessionStatusOut, summary="A session's real state", responses=NOT_FOUND)
async def session_status(name: SessionName, viewer: ApiViewer, db: DatabaseDep) -> SessionStatusOut:
    try:
        current = await get_session(db, name=name, viewer=viewer)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return SessionStatusOut.model_validate(status_document(current))


@router.get(
    '/{name}/qr',
    summary='The QR to scan (PNG) while the session needs one',
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {'content': {'image/png': {}}, 'description': 'The QR as the gateway shows it now'},
        409: {'model': ErrorOut, 'description': 'The session does not need a QR now'},
        502: {'model': ErrorOut, 'description': 'The WAHA gateway did not give the QR'},
    },
)
async def session_qr(name: SessionName, viewer: ApiViewer) -> Response:
    try:
        png = await runtime().workers.sessions.qr_png(name=name, viewer=viewer)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except GatewayUnavailable as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from exc
    return Response(png, media_type='image/png', headers={'Cache-Control': 'no-store'})


@router.post(
    '/{name}/send',
    response_model=SessionSendOut,
    status_code=202,
    summary='Queue a text through the session (only when READY and sending is allowed)',
    responses={
        **NOT_FOUND,
        400: {'model': ErrorOut, 'description': 'The body is not JSON (or not UTF-8), or an unknown query parameter'},
        408: {'description': 'The body stopped arriving (text/plain)'},
        413: {'model': ErrorOut, 'description': f'The body is longer than {MAX_BODY_BYTES} bytes'},
        422: {'description': 'Invalid body or phone number'},
        503: {
            'model': ErrorOut,
            'description': 'The session is not READY, or it is listen-only (the reason says which); or the '
            'database is unavailable',
        },
    },
)
async def session_send(name: SessionName, body: SessionSend, viewer: ApiViewer, db: DatabaseDep) -> SessionSendOut:
    try:
        queued = await queue_session_text(
            db, name=name, to=body.to, text=body.text, viewer=viewer, publisher=runtime().bus
        )
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except SessionCannotSend as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={'Retry-After': '30'}) from exc
    except (InvalidInput, PermissionDenied) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return SessionSendOut(
        outbox_id=queued.message.id or 0, conversation_id=queued.conversation_id, status=queued.message.status
    )
