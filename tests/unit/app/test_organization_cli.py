"""The organisation's commands for scripts (issue 15): users deactivate / reset-password / unlock, numbers edit /
deactivate with Meta's +1 555 test numbers, API keys listed and revoked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from services import api_keys, auth
from services.database import Database
from services.errors import InvalidCredentials, LoginLocked


@pytest.fixture
def run_cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    return run


def login(database_url: str, username: str, password: str) -> str:
    async def attempt() -> str:
        db = Database.from_url(database_url)
        try:
            return (await auth.login(db, username=username, password=password)).viewer.username
        finally:
            await db.dispose()

    return asyncio.run(attempt())


def test_users_are_deactivated_reset_and_unlocked(run_cli: Callable[..., str], database_url: str) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    run_cli('users', 'add', 'lucia', '--role', 'agent', '--branch', 'suc1', '--password', 'clave de lucia')

    run_cli('users', 'deactivate', 'Lucia')
    assert 'lucia\tagent\tSUC1\tlucia  (inactive)' in run_cli('users', 'list')
    with pytest.raises(InvalidCredentials):
        login(database_url, 'lucia', 'clave de lucia')
    run_cli('users', 'activate', 'lucia')
    assert login(database_url, 'lucia', 'clave de lucia') == 'lucia'

    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            login(database_url, 'lucia', 'otra')
    with pytest.raises(LoginLocked):
        login(database_url, 'lucia', 'clave de lucia')
    assert 'user lucia unlocked' in run_cli('users', 'unlock', 'lucia')
    assert login(database_url, 'lucia', 'clave de lucia') == 'lucia'

    output = run_cli('users', 'reset-password', 'lucia')
    password = output.strip().splitlines()[-1].split()[-1]
    assert login(database_url, 'lucia', password) == 'lucia'
    with pytest.raises(InvalidCredentials):
        login(database_url, 'lucia', 'clave de lucia')

    assert 'no user' in run_cli('users', 'reset-password', 'nadie', expect_exit=1)


def test_numbers_take_meta_test_numbers_are_edited_and_deactivated(run_cli: Callable[..., str]) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    run_cli('branches', 'add', 'SUC2', 'Rosario')

    added = run_cli(
        'numbers', 'add', '--branch', 'suc1', '--channel', 'cloud', '--phone-number-id', '106540352242922',
        '--display', '+1 555 025 3483', '--waba-id', '102290129340398',
    )  # fmt: skip
    assert 'number +15550253483 (106540352242922) routes to SUC1' in added
    assert 'not a valid phone number' in run_cli(
        'numbers', 'add', '--branch', 'suc1', '--channel', 'cloud', '--phone-number-id', 'x', '--display', '+1 212',
        expect_exit=1,
    )  # fmt: skip

    moved = run_cli('numbers', 'edit', '106540352242922', '--branch', 'suc2', '--label', 'Ventas')
    assert 'routes to SUC2' in moved
    run_cli('numbers', 'deactivate', '106540352242922')
    assert run_cli('numbers', 'list').strip() == '+15550253483\t106540352242922\tcloud\tSUC2  (inactive)'
    run_cli('numbers', 'activate', '106540352242922')
    assert run_cli('numbers', 'list').strip() == '+15550253483\t106540352242922\tcloud\tSUC2'
    assert 'no number' in run_cli('numbers', 'deactivate', 'nope', expect_exit=1)


def test_api_keys_are_listed_and_revoked_once(run_cli: Callable[..., str], database_url: str) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')
    key = run_cli('apikeys', 'create', '--name', 'ERP', '--branch', 'suc1').strip().splitlines()[-1].split()[-1]
    prefix = key.removeprefix(api_keys.KEY_PREFIX).split('_')[0]

    assert run_cli('apikeys', 'list').strip() == f'{prefix}\tERP\tSUC1\tactive'
    assert f'key {prefix} revoked' in run_cli('apikeys', 'revoke', prefix)
    assert run_cli('apikeys', 'list').strip() == f'{prefix}\tERP\tSUC1\trevoked'
    assert 'no active key' in run_cli('apikeys', 'revoke', prefix, expect_exit=1)
