"""FastAPI dependencies shared by the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader

from app.runtime import runtime
from services import api_keys
from services.access import Viewer
from services.database import Database

_api_key_header = APIKeyHeader(
    name='X-API-Key',
    auto_error=False,
    description='Created with `leadmaster apikeys create`',
)


def get_db() -> Database:
    return runtime().db


DatabaseDep = Annotated[Database, Depends(get_db)]


async def api_viewer(db: DatabaseDep, key: Annotated[str | None, Security(_api_key_header)]) -> Viewer:
    viewer = await api_keys.viewer_for_api_key(db, key)
    if viewer is None:
        raise HTTPException(
            status_code=401, detail='missing or invalid API key', headers={'WWW-Authenticate': 'X-API-Key'}
        )
    return viewer


ApiViewer = Annotated[Viewer, Depends(api_viewer)]
