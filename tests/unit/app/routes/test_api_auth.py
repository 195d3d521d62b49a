"""The HTTP API answers only to valid API keys, and a branch key sees only its branch (O2, B2)."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User

from app.routes import health as health_route
from app.runtime import runtime
from app.worker_process import WorkerProcess
from services import api_keys
from services.database import Database
from tests.conftest import World


async def test_missing_or_wrong_key_is_401(user: User, world: World, db: Database) -> None:
    _, key = await api_keys.create_api_key(db, name='erp')

    missing = await user.http_client.get('/api/v1/branches')
    wrong = await user.http_client.get('/api/v1/branches', headers={'X-API-Key': key[:-2] + 'xx'})
    garbage = await user.http_client.get('/api/v1/branches', headers={'X-API-Key': 'hello'})

    assert (missing.status_code, wrong.status_code, garbage.status_code) == (401, 401, 401)


async def test_global_key_sees_every_branch(user: User, world: World, db: Database) -> None:
    _, key = await api_keys.create_api_key(db, name='erp')

    response = await user.http_client.get('/api/v1/branches', headers={'X-API-Key': key})

    assert response.status_code == 200
    assert [branch['code'] for branch in response.json()] == ['SUC1', 'SUC2']


async def test_branch_key_never_sees_another_branch(user: User, world: World, db: Database) -> None:
    _, key = await api_keys.create_api_key(db, name='rosario erp', branch_id=world.rosario.id)

    response = await user.http_client.get('/api/v1/branches', headers={'X-API-Key': key})

    assert [branch['code'] for branch in response.json()] == ['SUC2']


async def test_revoked_key_stops_working(user: User, world: World, db: Database) -> None:
    stored, key = await api_keys.create_api_key(db, name='erp')
    await api_keys.revoke_api_key(db, prefix=stored.prefix)

    response = await user.http_client.get('/api/v1/branches', headers={'X-API-Key': key})

    assert response.status_code == 401


async def test_health_reports_the_database_and_pages_carry_security_headers(user: User, world: World) -> None:
    # On PostgreSQL the bus starts listening in the background (a busy test machine may take seconds): until it
    # does, the app rightly says "degraded".
    for _ in range(100):  # 20 s at most
        health = await user.http_client.get('/health')
        if health.json()['status'] == 'ok':
            break
        await asyncio.sleep(0.2)
    login = await user.http_client.get('/login')

    assert health.status_code == 200
    report = health.json()
    assert (report['status'], report['database'], report['channel']) == ('ok', 'ok', 'simulator'), report
    assert report['workers'] == {'where': 'this_process'}
    # On PostgreSQL the bus crosses processes and says whether it hears the others.
    assert report['event_bus'] in ({'kind': 'in_process'}, {'kind': 'postgres', 'listening': True, 'reconnects': 0})
    assert login.headers['X-Frame-Options'] == 'DENY'
    assert login.headers['X-Content-Type-Options'] == 'nosniff'


async def test_health_says_degraded_while_the_worker_process_is_down(
    user: User, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker process between a crash and its restart: webhooks are still journaled (200), but not stored yet.
    current = runtime()
    monkeypatch.setattr(current, 'worker_process', WorkerProcess(current.settings))
    # The route reads exactly this runtime (on a busy machine the app's start-up may still swap it in).
    monkeypatch.setattr(health_route, 'runtime', lambda: current)

    health = await user.http_client.get('/health')

    assert health.status_code == 200
    assert health.json()['status'] == 'degraded'
    assert health.json()['workers'] == {
        'where': 'worker_process',
        'pid': None,
        'pids': [],
        'expected': 1,
        'restarts': 0,
    }
