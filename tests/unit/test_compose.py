"""docker-compose.yml, the production layout (SPEC O5, O6): no Docker daemon here, so its structure is checked by
parsing it. Every variable it sets must be a setting the app reads (a misspelt one would be silently ignored), the
web services must be the servers of deploy/haproxy.cfg, and every service that serves HTTP must have a healthcheck."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.commands.cluster import COMPOSE_BACKENDS
from app.settings import Settings
from tests.conftest import REPO_ROOT

# Read by uvicorn itself (which proxies' X-Forwarded-For it believes), not by LeadMaster's settings.
UVICORN_VARIABLES = {'FORWARDED_ALLOW_IPS'}

COMPOSE = REPO_ROOT / 'docker-compose.yml'
APP_SERVICES = ('web1', 'web2', 'worker1', 'worker2')
INTERPOLATION = re.compile(r'\$\{(\w+)(?::?([-?]))?([^}]*)\}')


@pytest.fixture(scope='module')
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def interpolated(value: str) -> str:
    """What Docker Compose makes of `${NAME:-default}` / `${NAME:?error}` with nothing set in .env: the default, or
    a stand-in for a value the operator must give."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if kind == '-':
            return rest
        return 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg=' if name == 'LEADMASTER_SECRETS_KEY' else 'given'

    return INTERPOLATION.sub(one, value)


def test_the_layout_has_postgresql_two_web_two_worker_haproxy_and_an_optional_waha(compose: dict[str, Any]) -> None:
    services = compose['services']
    assert set(services) == {'postgres', 'web1', 'web2', 'worker1', 'worker2', 'haproxy', 'waha'}
    assert services['waha']['profiles'] == ['waha']  # only with `--profile waha`
    for name in ('web1', 'web2'):
        assert services[name]['command'][-1] == 'run'
        assert services[name]['depends_on']['postgres']['condition'] == 'service_healthy'
    for name in ('worker1', 'worker2'):
        assert services[name]['command'][-1] == 'worker'
    assert services['haproxy']['command'] == ['haproxy', '-f', '/app/deploy/haproxy.cfg', '-db']
    assert services['haproxy']['ports'] == ['8080:8080']
    assert 'COPY deploy ./deploy' in (REPO_ROOT / 'Dockerfile').read_text()  # the image carries its config
    assert 'haproxy' in (REPO_ROOT / 'Dockerfile').read_text().split('apt-get install', 1)[1].split('\n')[0]


def test_every_http_service_has_a_healthcheck_on_its_health_path(compose: dict[str, Any]) -> None:
    services = compose['services']
    for name in ('web1', 'web2'):
        assert 'http://127.0.0.1:8080/health' in ' '.join(services[name]['healthcheck']['test'])
    assert 'http://127.0.0.1:8080/haproxy-health' in ' '.join(services['haproxy']['healthcheck']['test'])
    assert 'monitor-uri /haproxy-health' in (REPO_ROOT / 'deploy' / 'haproxy.cfg').read_text()
    assert 'pg_isready' in ' '.join(services['postgres']['healthcheck']['test'])
    assert '/ping' in ' '.join(services['waha']['healthcheck']['test'])
    for name in ('worker1', 'worker2'):  # no HTTP there: the image's HEALTHCHECK would probe a port nobody serves
        assert services[name]['healthcheck'] == {'disable': True}


def test_the_web_services_are_the_balancers_servers_each_named_and_without_workers(compose: dict[str, Any]) -> None:
    services = compose['services']
    names = {backend.name for backend in COMPOSE_BACKENDS}
    assert names == {'web1', 'web2'}
    for backend in COMPOSE_BACKENDS:
        environment = services[backend.name]['environment']
        assert environment['LEADMASTER_INSTANCE_NAME'] == backend.name
        assert environment['LEADMASTER_RUN_WORKERS'] == 'false'
        assert backend.address == f'{backend.name}:8080'
        assert (
            f'server {backend.name} {backend.address} check cookie {backend.name}'
            in (REPO_ROOT / 'deploy' / 'haproxy.cfg').read_text()
        )


def test_every_variable_set_for_the_app_is_a_setting_and_they_validate(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fields = {f'LEADMASTER_{name.upper()}' for name in Settings.model_fields}
    for name in APP_SERVICES:
        environment: dict[str, Any] = compose['services'][name]['environment']
        unknown = set(environment) - fields - UVICORN_VARIABLES
        assert not unknown, f'{name} sets variables the app never reads: {sorted(unknown)}'
        # Every web and worker process shares the secrets (one storage secret for every web process).
        for shared in ('LEADMASTER_DATABASE_URL', 'LEADMASTER_SECRET_KEY', 'LEADMASTER_SECRETS_KEY'):
            assert shared in environment
        for variable in fields:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in environment.items():
            if variable not in UVICORN_VARIABLES:
                monkeypatch.setenv(variable, interpolated(str(value)))
        monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path))  # the image's ENV
        monkeypatch.chdir(tmp_path)  # no .env of this checkout
        settings = Settings()
        assert settings.uses_postgresql and settings.effective_event_bus == 'postgres'
        assert settings.effective_database_url.startswith('postgresql+asyncpg://leadmaster:given@postgres:5432/')
        assert settings.run_workers is (not name.startswith('web'))
        assert settings.whatsapp_token is None  # unset in .env: empty, not the secret ''


def test_the_database_url_avoids_a_transaction_pooler(compose: dict[str, Any]) -> None:
    """The event bus LISTENs on a connection of its own: through pgbouncer's transaction pooling it would hear
    nothing (docs/scaling.md)."""
    url = compose['x-environment']['LEADMASTER_DATABASE_URL']
    assert '@postgres:5432/' in url
