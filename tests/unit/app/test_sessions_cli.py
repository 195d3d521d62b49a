"""`leadmaster sessions …` (SPEC M6): add, list, status, start/stop/logout against a fake WAHA over real HTTP, and
the "allow sending" switch."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from services.whatsapp.waha.fake_server import FakeWahaApi

API_KEY = 'cli-waha-key'


@pytest.fixture
def gateway() -> Iterator[FakeWahaApi]:
    with FakeWahaApi(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def run_cli(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gateway: FakeWahaApi
) -> Callable[..., str]:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    monkeypatch.setenv('LEADMASTER_WAHA_BASE_URL', gateway.base_url)
    monkeypatch.setenv('LEADMASTER_WAHA_API_KEY', API_KEY)
    monkeypatch.setenv('LEADMASTER_WAHA_WEBHOOK_HMAC_KEY', 'cli-hmac')
    monkeypatch.setenv('LEADMASTER_WAHA_WEBHOOK_URL', 'http://127.0.0.1:9/webhooks/waha')
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    return run


def test_sessions_are_added_listed_one_per_line_and_started_on_the_gateway(
    run_cli: Callable[..., str], gateway: FakeWahaApi
) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    run_cli('branches', 'add', 'SUC2', 'Rosario')
    run_cli('sessions', 'add', '--branch', 'SUC2', '--name', 'rosario-web')
    run_cli('sessions', 'add', '--branch', 'suc1', '--name', 'central-web', '--display', '+54 9 11 5000-0101')

    lines = run_cli('sessions', 'list').splitlines()
    assert [line.split('\t')[:3] for line in lines] == [
        ['central-web', 'SUC1', 'INITIALIZING'],
        ['rosario-web', 'SUC2', 'INITIALIZING'],
    ]

    assert 'QR_REQUIRED' in run_cli('sessions', 'start', 'central-web')
    [created] = [r for r in gateway.requests if r.method == 'POST' and r.path == '/api/sessions']
    webhook = created.json['config']['webhooks'][0]
    assert webhook['url'] == 'http://127.0.0.1:9/webhooks/waha' and webhook['hmac'] == {'key': 'cli-hmac'}
    status = json.loads(run_cli('sessions', 'status', 'central-web', '--json'))
    assert status['state'] == 'QR_REQUIRED' and status['needs_qr'] and status['recommended_action'] == 'scan_qr'

    gateway.scan('central-web')
    assert 'READY' in run_cli('sessions', 'restart', 'central-web')
    assert 'DISCONNECTED' in run_cli('sessions', 'stop', 'central-web')
    run_cli('sessions', 'start', 'central-web')
    assert 'QR_REQUIRED' in run_cli('sessions', 'logout', 'central-web')  # unlinked: a new QR is needed


def test_sending_is_off_until_allowed(run_cli: Callable[..., str]) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    run_cli('sessions', 'add', '--branch', 'SUC1', '--name', 'web')
    assert json.loads(run_cli('sessions', 'status', 'web', '--json'))['sending_allowed'] is False
    assert 'allowed' in run_cli('sessions', 'allow-send', 'web', '--on')
    assert json.loads(run_cli('sessions', 'status', 'web', '--json'))['sending_allowed'] is True
    assert 'listen-only' in run_cli('sessions', 'allow-send', 'web', '--off')


def test_bad_names_and_unknown_sessions_are_clear_errors(run_cli: Callable[..., str]) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    assert 'invalid session name' in run_cli('sessions', 'add', '--branch', 'SUC1', '--name', 'a b/c', expect_exit=1)
    run_cli('sessions', 'add', '--branch', 'SUC1', '--name', 'web')
    assert 'already exists' in run_cli('sessions', 'add', '--branch', 'SUC1', '--name', 'web', expect_exit=1)
    assert "no session named 'nope'" in run_cli('sessions', 'status', 'nope', expect_exit=1)


def test_a_waha_number_added_as_a_number_is_a_session_too(run_cli: Callable[..., str]) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    run_cli(
        'numbers', 'add', '--branch', 'SUC1', '--channel', 'waha', '--phone-number-id', 'mostrador',
        '--display', '+54 9 11 5000-0102',
    )  # fmt: skip
    assert run_cli('sessions', 'list').split('\t')[:3] == ['mostrador', 'SUC1', 'INITIALIZING']
