"""`/health` for load balancers and operators (O4): 200 when the database answers, else 503."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.routes.dependencies import DatabaseDep
from services.database import DatabaseUnavailable

router = APIRouter(tags=['operations'])


@router.get('/health', summary='Liveness and database reachability')
async def health(db: DatabaseDep) -> JSONResponse:
    try:
        await db.ping()
    except DatabaseUnavailable as exc:
        return JSONResponse({'status': 'error', 'database': str(exc)}, status_code=503)
    return JSONResponse({'status': 'ok', 'database': 'ok'})
