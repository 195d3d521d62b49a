"""`leadmaster leads …` against the same database as the app (both databases): import a messy list with created,
merged and invalid rows by line, `--json`, `--map`, `--branch`; list with scores and reasons; validate by phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from services.database import Database
from services.models import Contact
from services.models.leads import ContactBranch, LeadProfile
from tests.conftest import World
from tests.unit.app.test_sales_cli import run_on


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


LIST = (
    '\ufeffEmpresa;Nombre;Celular;Correo;Web\r\n'
    'Taller Pérez;Juan;011 15-4444-5555;ventas@tallerperez.com.ar;https://tallerperez.com.ar\r\n'
    'Gomería;Luis;hola;;\r\n'
    'Taller Pérez;Juan P.;+54 9 11 4444-5555;;\r\n'
    'Repuestos;Ana;0351 15 512-3456;ana@gmail.com;\r\n'
)


def test_import_prints_created_merged_and_invalid_rows_by_line(
    run_cli, database_url: str, world: World, tmp_path: Path
) -> None:
    file = tmp_path / 'prospectos.csv'
    file.write_bytes(LIST.encode('utf-8'))
    output = run_cli('leads', 'import', str(file), '--branch', 'SUC1')
    assert '2 creados, 1 unidos' in output
    assert '1 inválidos' in output
    assert 'creados (líneas): 2, 5' in output
    assert 'línea 4: unido a línea 2 (+5491144445555)' in output
    assert 'línea 3: inválida: teléfono inválido: hola' in output

    async def check(db: Database) -> tuple[int, int]:
        async with db.session() as session:
            contacts = len((await session.exec(select(Contact))).all())
            linked = len(
                (await session.exec(select(ContactBranch).where(ContactBranch.branch_id == world.central.id))).all()
            )
        return contacts, linked

    assert run_on(database_url, check) == (2, 2)

    again = run_cli('leads', 'import', str(file), '--json')
    rows = [json.loads(line) for line in again.splitlines()]
    assert [(row['line'], row['outcome']) for row in rows] == [
        (2, 'merged'),
        (3, 'invalid'),
        (4, 'merged'),
        (5, 'merged'),
    ]
    assert rows[1]['reason'] == 'teléfono inválido: hola'


def test_map_renames_a_column_the_titles_do_not_say(run_cli, database_url: str, world: World, tmp_path: Path) -> None:
    file = tmp_path / 'raro.csv'
    file.write_text('Dueño;Cel. del dueño;Página\nMarta;11 5555-0101;www.marta.com.ar\n', encoding='utf-8')
    run_cli('leads', 'import', str(file), expect_exit=1)  # no column is recognized as the phone
    output = run_cli(
        'leads', 'import', str(file), '--map', 'Cel. del dueño=phone', '--map', 'Dueño=name', '--map', 'Página=website'
    )
    assert '1 creados' in output

    async def profile(db: Database) -> tuple[str, str]:
        async with db.session() as session:
            contact = (await session.exec(select(Contact))).one()
            found = (await session.exec(select(LeadProfile))).one()
        return contact.display_name, found.website

    assert run_on(database_url, profile) == ('Marta', 'www.marta.com.ar')


def test_list_and_validate(run_cli, database_url: str, world: World, tmp_path: Path) -> None:
    file = tmp_path / 'p.csv'
    file.write_bytes(LIST.encode('utf-8'))
    run_cli('leads', 'import', str(file))
    rows = [json.loads(line) for line in run_cli('leads', 'list', '--json').splitlines()]
    assert [row['phone'] for row in rows] == ['+5491144445555', '+5493515123456']
    juan = rows[0]
    assert juan['name'] == 'Juan'
    assert (juan['score_contactabilidad'], juan['digital_maturity']) == (60, 80)
    assert (juan['validado_tecnicamente'], juan['opted_out']) == (False, False)
    assert [r['code'] for r in juan['reasons']['contactability']] == [
        'phone_valid',
        'phone_mobile',
        'whatsapp_unverified',
    ]

    assert 'validado' in run_cli('leads', 'validate', '011 15 4444-5555', '--note', 'llamado')
    rows = [json.loads(line) for line in run_cli('leads', 'list', '--json', '--validated').splitlines()]
    assert [row['phone'] for row in rows] == ['+5491144445555']
    assert 'no contact' in run_cli('leads', 'validate', '+54 9 11 5999-0000', expect_exit=1)
