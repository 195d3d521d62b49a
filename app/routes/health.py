"""`/health` for load balancers and operators (O4): the database, the background workers, the event bus, the
WhatsApp channel and the WhatsApp-Web sessions.

503 only when the database does not answer: then nothing can be journaled and this process should leave the load
balancer's rotation. A worker process being restarted or an event bus reconnecting is `degraded` with 200:
webhooks are still journaled (nothing is lost; the workers catch up), and taking every web process out of
rotation for it would turn a delay into lost acknowledgements. Monitoring alerts on `status != "ok"`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.event_bus import PostgresEventBus
from app.routes.dependencies import DatabaseDep
from app.runtime import runtime
from app.settings import Settings
from services.backups import read_status
from services.database import DatabaseUnavailable
from services.models import SessionState
from services.sessions.service import list_sessions

router = APIRouter(tags=['operations'])
PING_TIMEOUT_SECONDS = 2.0


def _last_backup(settings: Settings) -> dict[str, Any] | None:
    """Issue 21: the last backup's outcome, from var/backup_status.json (written by whichever process made it, so
    the web process knows it when the scheduled job runs in the worker process). None: backups off and none made."""
    status = read_status(settings.var_dir)
    if status is None:
        return {'enabled': True, 'last': None} if settings.backup_enabled else None
    return {
        'enabled': settings.backup_enabled,
        'last': {key: status.get(key) for key in ('at', 'ok', 'trigger', 'error', 'bytes', 'last_success_at')},
    }


def _workers_and_bus() -> tuple[dict[str, Any], bool]:
    """What this process knows of the background work and the bus, and whether all of it is running."""
    current = runtime()
    healthy = True
    report: dict[str, Any] = {'channel': 'simulator' if current.simulator is not None else 'cloud_api'}
    if current.settings.instance_name:  # which web process answered, behind the balancer (docs/scaling.md)
        report['instance'] = current.settings.instance_name
    process = current.worker_process
    if process is not None:
        report['workers'] = {
            'where': 'worker_process',
            'pid': process.pid,
            'pids': process.pids,  # `leadmaster run --workers N`: every child running now
            'expected': process.count,
            'restarts': process.restarts,
        }
        healthy = len(process.pids) == process.count  # one dead child is a worker role missing its share
    else:
        report['workers'] = {'where': 'this_process' if current.workers_here else 'elsewhere'}
        if current.workers_here and current.settings.run_workers:
            # The scheduled jobs (APScheduler) of this process: a stopped one means holds are never released.
            scheduler = {
                'takeover_sweep': current.workers.takeover_sweeper.running,
                'retention': current.workers.retention.running,
                'alerts': current.workers.alerts.running,
                'session_probes': current.workers.session_probes.running,
            }
            if current.workers.backups is not None:
                scheduler['backup'] = current.workers.backups.running
            report['scheduler'] = scheduler
            healthy = healthy and all(scheduler.values())
    if isinstance(current.bus, PostgresEventBus):
        listening = current.bus.listening.is_set()
        report['event_bus'] = {'kind': 'postgres', 'listening': listening, 'reconnects': current.bus.reconnects}
        healthy = healthy and listening
    else:
        report['event_bus'] = {'kind': 'in_process'}
    return report, healthy


@router.get(
    '/health',
    summary='Liveness: database, workers, event bus, channel',
    responses={
        503: {
            'description': f'The database did not answer within {PING_TIMEOUT_SECONDS:g} s: take this process out '
            'of rotation'
        }
    },
)
async def health(db: DatabaseDep) -> JSONResponse:
    report, healthy = _workers_and_bus()
    try:
        # A stalled database (not a refused one) would hold this request, and the load balancer's, for minutes.
        await asyncio.wait_for(db.ping(), timeout=PING_TIMEOUT_SECONDS)
        sessions = await asyncio.wait_for(list_sessions(db, viewer=None), timeout=PING_TIMEOUT_SECONDS)
    except TimeoutError:
        message = f'database did not answer within {PING_TIMEOUT_SECONDS:g} s'
        return JSONResponse({'status': 'error', 'database': message, **report}, status_code=503)
    except DatabaseUnavailable as exc:
        return JSONResponse({'status': 'error', 'database': str(exc), **report}, status_code=503)
    backup = await asyncio.to_thread(_last_backup, runtime().settings)
    if backup is not None:
        report['backup'] = backup
        # A failed backup is found out now, not on the day a restore is needed.
        healthy = healthy and (backup['last'] is None or bool(backup['last']['ok']))
    if sessions:
        # M6: a WhatsApp-Web session that is not READY is a number whose customers nobody hears: degraded (still 200,
        # this process is fine), so monitoring that alerts on `status != "ok"` tells someone.
        down = {s.name: str(s.state) for s in sessions if s.state != SessionState.READY}
        report['sessions'] = {'total': len(sessions), 'ready': len(sessions) - len(down), 'not_ready': down}
        healthy = healthy and not down
    return JSONResponse({'status': 'ok' if healthy else 'degraded', 'database': 'ok', **report})
