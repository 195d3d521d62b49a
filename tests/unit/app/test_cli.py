"""The `leadmaster` command line, against the same database settings as the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli


@pytest.fixture
def run_cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    return run


def test_branches_add_and_list_one_per_line_code_first(run_cli) -> None:
    run_cli('branches', 'add', 'suc7', 'Mendoza', '--city', 'Mendoza')
    run_cli('branches', 'add', 'SUC4', 'La Plata')

    lines = run_cli('branches', 'list').splitlines()

    assert [line.split()[0] for line in lines] == ['SUC4', 'SUC7']
    assert 'Mendoza' in lines[1]


def test_duplicate_branch_is_a_clear_error(run_cli) -> None:
    run_cli('branches', 'add', 'SUC4', 'La Plata')

    output = run_cli('branches', 'add', 'SUC4', 'Otra', expect_exit=1)

    assert 'already exists' in output


def test_users_add_with_branch_and_list(run_cli) -> None:
    run_cli('branches', 'add', 'SUC4', 'La Plata')
    run_cli(
        'users',
        'add',
        'Lucas',
        '--role',
        'agent',
        '--branch',
        'suc4',
        '--name',
        'Lucas Pérez',
        '--password',
        'lucas-password-1',
    )
    generated = run_cli('users', 'add', 'root', '--role', 'admin')

    assert generated.splitlines()[-1].startswith('password: ')
    listing = run_cli('users', 'list')
    assert 'lucas\tagent\tSUC4\tLucas Pérez' in listing
    assert 'root\tadmin\t-\troot' in listing


def test_agent_without_branch_is_refused(run_cli) -> None:
    output = run_cli('users', 'add', 'lucas', '--role', 'agent', '--password', 'lucas-password-1', expect_exit=1)

    assert 'must belong to a branch' in output


def test_unknown_branch_is_refused(run_cli) -> None:
    output = run_cli('users', 'add', 'lucas', '--role', 'agent', '--branch', 'NOPE', expect_exit=1)

    assert "no branch with code 'NOPE'" in output


def test_numbers_add_normalises_the_display_number_and_lists_it(run_cli) -> None:
    run_cli('branches', 'add', 'SUC4', 'La Plata')

    run_cli(
        'numbers',
        'add',
        '--branch',
        'SUC4',
        '--channel',
        'cloud',
        '--phone-number-id',
        '106540352242922',
        '--display',
        '+54 9 221 555-0101',
    )

    assert run_cli('numbers', 'list').split() == ['+5492215550101', '106540352242922', 'cloud', 'SUC4']


def test_apikeys_create_prints_the_key_last(run_cli) -> None:
    output = run_cli('apikeys', 'create', '--name', 'erp')

    key = output.split()[-1]
    assert key.startswith('lm_') and len(key) > 40


def test_unreachable_database_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', 'postgresql+asyncpg://postgres@127.0.0.1:1/nowhere')
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))

    result = CliRunner().invoke(cli, ['branches', 'list'])

    assert result.exit_code == 2
    assert 'database unreachable' in result.output


def test_webhooks_replay_stores_a_dead_letter_once_its_number_exists(run_cli, database_url: str) -> None:
    import asyncio
    import json

    from services.database import Database
    from services.whatsapp import payload_builders as build
    from services.whatsapp.journal import journal_once

    async def journal_unroutable() -> None:
        db = Database.from_url(database_url)
        await journal_once(
            db,
            json.dumps(
                build.envelope(
                    phone_number_id='777000777',
                    display_phone_number='5492615550101',
                    contacts=[build.contact(wa_id='5491133334444', name='Martín')],
                    messages=[build.text_message(from_='5491133334444', body='hola Mendoza')],
                )
            ),
        )
        await db.dispose()

    run_cli('branches', 'add', 'SUC4', 'Mendoza')
    asyncio.run(journal_unroutable())
    first = run_cli('webhooks', 'replay')
    assert '1 still unroutable' in first
    assert run_cli('webhooks', 'dead-letters').split('\t')[2:4] == ['unroutable', '777000777']

    run_cli(
        'numbers',
        'add',
        '--branch',
        'SUC4',
        '--channel',
        'cloud',
        '--phone-number-id',
        '777000777',
        '--display',
        '+54 9 261 555-0101',
    )
    second = run_cli('webhooks', 'replay', '--dead-letters')

    assert 'replayed 1 deliveries: 1 messages stored' in second
    assert run_cli('webhooks', 'dead-letters') == ''


def test_templates_are_registered_per_number_with_their_variables(run_cli) -> None:
    run_cli('branches', 'add', 'SUC4', 'Mendoza')
    run_cli(
        'numbers',
        'add',
        '--branch',
        'SUC4',
        '--channel',
        'cloud',
        '--phone-number-id',
        '777000777',
        '--display',
        '+54 9 261 555-0101',
    )

    run_cli(
        'templates',
        'add',
        '--phone-number-id',
        '777000777',
        '--name',
        'presupuesto_listo',
        '--body',
        'Hola {{1}}, tu presupuesto {{2}} está listo.',
    )
    refused = run_cli(
        'templates', 'add', '--phone-number-id', '777000777', '--name', 'mal', '--body', 'Hola {{2}}', expect_exit=1
    )

    assert run_cli('templates', 'list').split() == ['777000777', 'presupuesto_listo', 'es_AR', 'APPROVED', '2']
    assert 'without gaps' in refused
