"""The fake Graph API the app talks to in simulator mode (M5), shaped like Meta's: same paths, bearer
token, JSON and error bodies. Mounted only when no Meta token is configured."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from app.runtime import runtime
from services.errors import InvalidInput, NotFound
from services.whatsapp.simulator import Simulator

router = APIRouter(prefix='/fake-graph', tags=['simulator'], include_in_schema=False)


def meta_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            'error': {
                'message': message,
                'type': 'OAuthException',
                'code': code,
                'error_data': {'messaging_product': 'whatsapp', 'details': message},
                'fbtrace_id': 'SIMULATOR',
            }
        },
    )


def _simulator(authorization: str | None) -> Simulator | JSONResponse:
    simulator = runtime().simulator
    if simulator is None:
        return meta_error(404, 100, 'the simulator is not enabled')
    if not simulator.token_is_valid(authorization):
        return meta_error(401, 190, 'Error validating access token')
    return simulator


@router.get('/media/{media_id}')
async def download(media_id: str, authorization: Annotated[str | None, Header()] = None) -> Response:
    simulator = _simulator(authorization)
    if isinstance(simulator, JSONResponse):
        return simulator
    try:
        content, mime_type, _ = await simulator.media_content(media_id)
    except NotFound as exc:
        return meta_error(404, 100, str(exc))
    return Response(content, media_type=mime_type)


@router.post('/{version}/{phone_number_id}/messages')
async def send(
    phone_number_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    simulator = _simulator(authorization)
    if isinstance(simulator, JSONResponse):
        return simulator
    try:
        body: Any = await request.json()
        if not isinstance(body, dict) or body.get('messaging_product') != 'whatsapp':
            return meta_error(400, 100, '(#100) The parameter messaging_product is required.')
        return JSONResponse(await simulator.accept_outbound(phone_number_id, body))
    except ValueError:
        return meta_error(400, 100, 'Invalid JSON')
    except (NotFound, InvalidInput) as exc:
        return meta_error(400, 100, f'(#100) {exc}')


@router.post('/{version}/{phone_number_id}/media')
async def upload(
    phone_number_id: str,
    file: UploadFile,
    messaging_product: Annotated[str, Form()],
    type: Annotated[str, Form()],  # noqa: A002 - Meta's field name
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    simulator = _simulator(authorization)
    if isinstance(simulator, JSONResponse):
        return simulator
    if messaging_product != 'whatsapp':
        return meta_error(400, 100, '(#100) The parameter messaging_product is required.')
    try:
        media_id = await simulator.upload(
            phone_number_id, content=await file.read(), mime_type=type, filename=file.filename or 'file'
        )
    except NotFound as exc:
        return meta_error(400, 100, f'(#100) {exc}')
    return JSONResponse({'id': media_id})


@router.get('/{version}/{media_id}')
async def media_info(media_id: str, authorization: Annotated[str | None, Header()] = None) -> Response:
    simulator = _simulator(authorization)
    if isinstance(simulator, JSONResponse):
        return simulator
    try:
        return JSONResponse(await simulator.media_info(media_id))
    except NotFound as exc:
        return meta_error(404, 100, str(exc))
