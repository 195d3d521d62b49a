"""`leadmaster cluster` (SPEC O6, issue 20): the HAProxy config it writes, the processes it starts and how it keeps
them; and the X-LeadMaster-Instance header by which a response names its web process. The whole cluster, HAProxy
and real web processes in Chromium, runs in tests/e2e/test_scale_out.py."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from typer.testing import CliRunner

from app.commands.cluster import (
    COOKIE,
    Backend,
    Child,
    Cluster,
    build_children,
    compose_haproxy_config,
    haproxy_config,
)
from app.commands.cluster import cli as cluster_cli
from app.settings import Settings
from app.wiring import InstanceHeader
from tests.conftest import REPO_ROOT

HAPROXY = shutil.which('haproxy') or '/usr/sbin/haproxy'


def test_on_sqlite_it_refuses_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', '')
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path))
    result = CliRunner().invoke(cluster_cli, ['--web', '2', '--workers', '1'])
    assert result.exit_code == 2
    assert 'leadmaster cluster needs PostgreSQL' in result.output
    assert not (tmp_path / 'cluster').exists()  # nothing was started nor written


def check_with_haproxy(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / 'haproxy.cfg'
    path.write_text(config)
    return subprocess.run([HAPROXY, '-c', '-f', str(path)], capture_output=True, text=True, timeout=30, check=False)


def test_the_generated_config_is_sticky_checks_health_and_haproxy_accepts_it(tmp_path: Path) -> None:
    if not Path(HAPROXY).exists():
        pytest.fail('haproxy is missing: run `make test` (scripts/system-deps.sh installs it)')
    backends = [Backend('web1', '127.0.0.1:9001'), Backend('web2', '127.0.0.1:9002')]
    config = haproxy_config(backends, bind='127.0.0.1:9000', maxconn=1000)
    checked = check_with_haproxy(config, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = [line.strip() for line in config.splitlines()]
    assert 'bind 127.0.0.1:9000' in lines
    assert f'cookie {COOKIE} insert indirect nocache httponly attr "SameSite=Lax"' in lines
    assert 'server web1 127.0.0.1:9001 check cookie web1' in lines
    assert 'server web2 127.0.0.1:9002 check cookie web2' in lines
    assert 'option httpchk GET /health' in lines
    # Served over HTTPS, the balancer's cookie is Secure too (as the session cookie is).
    secure = haproxy_config(backends, bind='127.0.0.1:9000', secure_cookie=True)
    assert f'cookie {COOKIE} insert indirect nocache httponly attr "SameSite=Lax" secure' in secure
    assert check_with_haproxy(secure, tmp_path).returncode == 0


def test_the_compose_balancer_config_is_the_same_template(tmp_path: Path) -> None:
    """deploy/haproxy.cfg is the template rendered for docker-compose.yml: after editing the template, write it again
    (`print(compose_haproxy_config(), end='')` from app.commands.cluster into deploy/haproxy.cfg)."""
    assert (REPO_ROOT / 'deploy' / 'haproxy.cfg').read_text() == compose_haproxy_config()
    checked = check_with_haproxy(compose_haproxy_config(), tmp_path)  # the containers' names resolve only in Docker
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_web_processes_get_their_own_port_and_name_and_leave_the_work_to_the_workers(tmp_path: Path) -> None:
    settings = Settings(database_url='postgresql://u@db:5432/lm', var_dir=tmp_path)
    children = build_children(
        settings,
        web=3,
        workers=2,
        web_host='127.0.0.1',
        web_ports=[9001, 9002, 9003],
        haproxy='/usr/sbin/haproxy',
        config_path=tmp_path / 'haproxy.cfg',
    )
    assert [child.name for child in children] == ['haproxy', 'web1', 'web2', 'web3', 'worker1', 'worker2']
    assert children[0].argv == ['/usr/sbin/haproxy', '-f', str(tmp_path / 'haproxy.cfg'), '-db']
    webs = children[1:4]
    assert [child.env['LEADMASTER_PORT'] for child in webs] == ['9001', '9002', '9003']
    assert [child.env['LEADMASTER_INSTANCE_NAME'] for child in webs] == ['web1', 'web2', 'web3']
    for child in children[1:]:
        assert child.env['LEADMASTER_DATABASE_URL'] == 'postgresql+asyncpg://u@db:5432/lm'
        assert child.env['LEADMASTER_VAR_DIR'] == str(tmp_path)  # one storage secret for all (var/secret_key)
        assert child.env['LEADMASTER_MIGRATE_ON_START'] == 'false'
    for child in webs:
        assert child.argv[-1] == 'run'
        assert child.env['LEADMASTER_RUN_WORKERS'] == 'false'
    for child in children[4:]:
        assert child.argv[-1] == 'worker'
        assert child.env['LEADMASTER_PARENT_PID'] == str(os.getpid())  # they stop if the cluster is gone


def sleeper(name: str, marker: Path | None = None, *, exit_after: float | None = None) -> Child:
    """A stand-in process: notes its pid in `marker` at each start; exits by itself after `exit_after` s."""
    script = 'import os, sys, time\n'
    if marker is not None:
        script += f'open({str(marker)!r}, "a").write(f"{{os.getpid()}}\\n")\n'
    script += f'time.sleep({exit_after if exit_after is not None else 600})\nsys.exit(3)\n'
    return Child(name, [sys.executable, '-c', script], dict(os.environ))


async def until(condition: Callable[[], bool], *, seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, 'the processes did not get there in time'
        await asyncio.sleep(0.05)


async def test_a_process_that_dies_is_started_again_and_stop_ends_them_all(tmp_path: Path) -> None:
    marker = tmp_path / 'starts'
    crashing = sleeper('web1', marker, exit_after=0.3)
    steady = sleeper('haproxy')
    cluster = Cluster([steady, crashing], prefix_output=False, restart_delay_seconds=0.05)
    cluster.ready.set()  # serving: from now on a death is a crash to recover from
    cluster.start()
    await until(lambda: marker.exists() and len(marker.read_text().split()) >= 3)
    assert crashing.restarts >= 2
    assert steady.restarts == 0
    processes = [steady.process, crashing.process]
    await cluster.stop(timeout_seconds=5)
    assert all(process is not None and process.returncode is not None for process in processes)
    assert steady.pid is None and crashing.pid is None


async def test_a_process_that_dies_before_the_cluster_is_ready_fails_it() -> None:
    cluster = Cluster([sleeper('haproxy', exit_after=0)], prefix_output=False)
    cluster.start()
    await asyncio.wait_for(cluster.ready.wait(), timeout=20)
    assert cluster.failed == 'haproxy exited with 3 before the cluster was ready'
    await cluster.stop(timeout_seconds=5)


async def test_a_process_that_ignores_sigterm_is_killed_at_the_deadline() -> None:
    stubborn = Child(
        'worker1',
        [sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'],
        dict(os.environ),
    )
    cluster = Cluster([stubborn], prefix_output=False)
    cluster.ready.set()
    cluster.start()
    await until(lambda: stubborn.pid is not None)
    await asyncio.sleep(0.5)  # its handler is in place
    await cluster.stop(timeout_seconds=1)
    assert stubborn.process is not None and stubborn.process.returncode == -9


async def test_a_named_web_process_says_its_name_in_every_response() -> None:
    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse('hola', headers={'X-Other': '1'})

    pages = Starlette(routes=[Route('/', hello)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(InstanceHeader(pages, name='web2')), base_url='http://t'
    ) as http:
        response = await http.get('/')
    assert response.headers['X-LeadMaster-Instance'] == 'web2'
    assert response.headers['X-Other'] == '1' and response.text == 'hola'
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(InstanceHeader(pages, name='')), base_url='http://t'
    ) as http:
        unnamed = await http.get('/')
    assert 'X-LeadMaster-Instance' not in unnamed.headers  # one process alone says nothing
