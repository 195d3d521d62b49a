"""`leadmaster backup [--to DIR]` and `leadmaster restore FILE` (issue 21) as an operator runs them, and the last
backup's outcome on `/health`. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from nicegui.testing.user import User as SimulatedUser
from typer.testing import CliRunner

from app.cli import cli
from app.settings import Settings
from services.backups import write_status
from tests.conftest import World, fresh_postgres_database
from tests.unit.app.pages.test_login import sign_in


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


@pytest.fixture
def empty_target(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith('sqlite'):
        return f'sqlite+aiosqlite:///{tmp_path / "new-server" / "leadmaster.sqlite3"}'
    return fresh_postgres_database('leadmaster_cli_restore_target')


def test_backup_then_restore_on_an_empty_database_brings_everything_back(
    run_cli: Callable[..., str], tmp_path: Path, empty_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central', '--city', 'CABA')
    run_cli('branches', 'add', 'SUC2', 'Rosario')
    run_cli('users', 'add', 'ana', '--role', 'agent', '--branch', 'SUC1', '--password', 'una clave larga')
    photo = tmp_path / 'var' / 'media' / 'ab' / 'cd' / ('abcd' + '0' * 60)
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b'\xff\xd8 a photo')

    out = run_cli('backup', '--to', str(tmp_path / 'offsite'))

    [archive] = (tmp_path / 'offsite').glob('leadmaster-*.tar')
    assert f'backup written: {archive}' in out
    assert '1 media files' in out
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {'manifest.json', 'media.sha256', 'media/ab/cd/' + photo.name} <= set(names)
    assert not any('secret' in name for name in names)  # var/secret_key and the other keys stay out of backups

    # Another server: a new, empty database and no media yet.
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', empty_target)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'new-var'))
    out = run_cli('restore', str(archive))

    assert 'media: 1 files restored' in out
    assert run_cli('branches', 'list').splitlines() == ['SUC1\tCasa Central\tCABA', 'SUC2\tRosario\t']
    assert run_cli('users', 'list').splitlines()[0].split('\t')[:3] == ['ana', 'agent', 'SUC1']
    assert (tmp_path / 'new-var' / 'media' / 'ab' / 'cd' / photo.name).read_bytes() == b'\xff\xd8 a photo'

    # Again on the same database: it has data now, so nothing is overwritten.
    refused = run_cli('restore', str(archive), expect_exit=1)
    assert 'is not empty' in refused
    assert len(run_cli('branches', 'list').splitlines()) == 2


def test_without_to_the_backup_goes_to_var_backups_and_is_recorded(run_cli: Callable[..., str], tmp_path: Path) -> None:
    run_cli('branches', 'add', 'SUC1', 'Casa Central')

    run_cli('backup')

    [archive] = (tmp_path / 'var' / 'backups').glob('leadmaster-*.tar')
    status = json.loads((tmp_path / 'var' / 'backup_status.json').read_text())
    assert (status['ok'], status['file'], status['trigger']) == (True, str(archive), 'manual')


def test_a_backup_that_cannot_be_written_is_a_clear_error_and_is_recorded(
    run_cli: Callable[..., str], tmp_path: Path
) -> None:
    not_a_folder = tmp_path / 'a-file'
    not_a_folder.write_text('')

    out = run_cli('backup', '--to', str(not_a_folder), expect_exit=1)

    assert 'error:' in out and 'a-file' in out
    status = json.loads((tmp_path / 'var' / 'backup_status.json').read_text())
    assert status['ok'] is False and 'a-file' in status['error']


def test_restore_of_something_that_is_not_a_backup_is_a_clear_error(
    run_cli: Callable[..., str], tmp_path: Path
) -> None:
    not_a_backup = tmp_path / 'notes.txt'
    not_a_backup.write_text('hola')

    assert 'not a complete LeadMaster backup' in run_cli('restore', str(not_a_backup), expect_exit=1)
    assert 'no such file' in run_cli('restore', str(tmp_path / 'missing.tar'), expect_exit=1)


async def test_health_and_the_admin_show_the_last_backup_and_a_failed_one_degrades_health(
    user: SimulatedUser, world: World
) -> None:
    settings = Settings()
    assert (await user.http_client.get('/health')).json()['backup'] == {'enabled': True, 'last': None}
    await sign_in(user, 'jorge', world.password)
    await user.should_see('Jorge Pereyra')
    await user.open('/admin/webhooks')
    await user.should_see('Respaldo: todavía no se hizo ninguno (se hace cada día a las 3:00).')

    write_status(
        settings.var_dir, result=None, error='pg_dump failed (1): server version mismatch', trigger='scheduled'
    )
    failed = (await user.http_client.get('/health')).json()

    assert failed['status'] == 'degraded'
    assert failed['backup']['last']['ok'] is False
    assert 'server version mismatch' in failed['backup']['last']['error']
    await user.open('/admin/webhooks')
    await user.should_see('falló: pg_dump failed (1): server version mismatch')
