"""`config apply` (issue 15): the whole file checked first with paths, one transaction, idempotent, a dry run that
changes nothing, one-time passwords for new users only."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from services import configuration
from services.configuration import ConfigInvalid, apply_config, load_document
from services.database import Database
from services.errors import InvalidInput
from services.models import AuditEntry, Branch, MessageTemplate, User, WhatsAppNumber
from services.passwords import verify_password
from tests.conftest import World

EXAMPLE = Path(__file__).resolve().parents[3] / 'docs' / 'examples' / 'leadmaster-40-numbers.yaml'

SMALL = """
settings:
  quote_valid_days: 10
branches:
  - code: suc3
    name: Córdoba
    city: Córdoba
    settings:
      takeover_timeout_seconds: 600
      business_hours: {mon: ["09:00", "18:00"]}
  - code: SUC1
    name: Casa Central
    city: CABA
numbers:
  - phone_number_id: '5550001'
    display_phone: '+1 555 010 0001'
    branch: SUC3
    label: Pruebas Meta
users:
  - username: carla
    full_name: Carla Ruiz
    role: agent
    branch: SUC3
  - username: ana
    full_name: Ana Gómez
    role: agent
    branch: SUC1
    password: otra-clave-larga
templates:
  - number: '5550001'
    name: bienvenida
    body: Hola {{1}}
"""


async def _count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_a_file_applies_once_and_a_second_time_changes_nothing(db: Database, world: World) -> None:
    first = await apply_config(db, document=load_document(SMALL))

    assert first.applied
    assert list(first.passwords) == ['carla']  # created without a password; ana exists
    async with db.session() as session:
        cordoba = (await session.exec(select(Branch).where(Branch.code == 'SUC3'))).one()
        central = (await session.exec(select(Branch).where(Branch.code == 'SUC1'))).one()
        number = (await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == '5550001'))).one()
        carla = (await session.exec(select(User).where(User.username == 'carla'))).one()
        ana = (await session.exec(select(User).where(User.username == 'ana'))).one()
        template = (await session.exec(select(MessageTemplate))).one()
    assert (cordoba.takeover_timeout_seconds, cordoba.quote_valid_days) == (600, 10)
    assert cordoba.business_hours == {'mon': ['09:00', '18:00']}
    assert central.quote_valid_days == 10  # the file's shared settings reach every branch listed
    assert (number.display_phone, number.branch_id) == ('+15550100001', cordoba.id)
    assert verify_password(carla.password_hash, first.passwords['carla'])
    assert verify_password(ana.password_hash, world.password)  # an existing user's password never changes
    assert (template.name, template.variable_count) == ('bienvenida', 1)

    audits = await _count(db, AuditEntry)
    second = await apply_config(db, document=load_document(SMALL))

    assert not second.applied
    assert second.plan.empty
    assert second.passwords == {}
    assert second.plan.text().startswith('Nothing to change')
    assert await _count(db, AuditEntry) == audits


async def test_the_dry_run_lists_each_change_and_changes_nothing(db: Database, world: World) -> None:
    document = load_document(
        """
branches:
  - code: SUC2
    name: Rosario Centro
    city: Rosario
    settings:
      iva_default_rate: '10,5'
      assistant_enabled: false
numbers:
  - phone_number_id: pn-rosario
    display_phone: '+5493415000201'
    branch: SUC1
    label: Mostrador
"""
    )
    result = await apply_config(db, document=document, dry_run=True)

    text = result.plan.text()
    assert "~ update branch SUC2\n    name: 'Rosario' → 'Rosario Centro'" in text
    assert '    iva_default_rate: 21.00 → 10.50' in text
    assert '    assistant_enabled: True → False' in text
    assert "~ update number pn-rosario\n    branch: 'SUC2' → 'SUC1'\n    label: '' → 'Mostrador'" in text
    assert not result.applied
    async with db.session() as session:
        rosario = (await session.exec(select(Branch).where(Branch.code == 'SUC2'))).one()
        number = (
            await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == 'pn-rosario'))
        ).one()
    assert (rosario.name, rosario.iva_default_rate, rosario.assistant_enabled) == ('Rosario', Decimal('21.00'), True)
    assert number.branch_id == world.rosario.id

    applied = await apply_config(db, document=document)
    assert applied.applied
    async with db.session() as session:
        rosario = (await session.exec(select(Branch).where(Branch.code == 'SUC2'))).one()
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    assert (rosario.name, rosario.iva_default_rate, rosario.assistant_enabled) == (
        'Rosario Centro',
        Decimal('10.50'),
        False,
    )
    settings_entry = next(entry for entry in entries if entry.action == 'branch.settings')
    assert settings_entry.actor_label == 'cli'
    assert settings_entry.details['changes']['iva_default_rate'] == {'old': '21.00', 'new': '10.50'}


async def test_every_problem_is_reported_with_its_path_and_nothing_is_applied(db: Database, world: World) -> None:
    document = load_document(
        """
branches:
  - code: SUC5
    name: La Plata
    settings:
      takeover_timeout_seconds: 5
      business_hours: {lun: ["09:00", "18:00"]}
numbers:
  - phone_number_id: '900'
    display_phone: '+5491150009001'
    branch: SUC5
  - phone_number_id: '901'
    display_phone: 'no es un teléfono'
    branch: SUC9
users:
  - username: pedro
    full_name: Pedro
    role: cashier
templates:
  - number: '999'
    name: Bienvenida
    body: Hola {{2}}
colors: [red]
"""
    )
    with pytest.raises(ConfigInvalid) as raised:
        await apply_config(db, document=document)

    messages = [str(problem) for problem in raised.value.problems]
    assert 'colors: unknown section (expected: branches, settings, numbers, users, templates)' in messages
    assert 'branches[0].settings.takeover_timeout_seconds: must be between 30 and 86400' in messages
    assert 'branches[0].settings.business_hours.lun: unknown weekday lun (use mon, tue, wed, thu, fri, sat, sun)' in (
        messages
    )
    assert "numbers[1].display_phone: 'no es un teléfono' is not a valid phone number" in messages
    assert 'numbers[1].branch: unknown branch SUC9' in messages
    assert 'users[0].role: must be one of: agent, manager, admin' in messages
    assert 'templates[0].number: unknown number 999 (a phone_number_id)' in messages
    assert "templates[0].name: 'Bienvenida': lower case letters, digits and underscores only" in messages
    assert any(message.startswith('templates[0].body: placeholders must be') for message in messages)
    async with db.session() as session:
        assert (await session.exec(select(Branch).where(Branch.code == 'SUC5'))).first() is None
    assert await _count(db, WhatsAppNumber) == 2


async def test_a_failure_while_applying_rolls_everything_back(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def meta_refuses(*_args: object, **_kwargs: object) -> None:  # the last step fails, after the others ran
        raise InvalidInput('template rejected')

    monkeypatch.setattr(configuration.templates, 'register_template', meta_refuses)
    document = load_document(
        """
branches:
  - code: SUC6
    name: Mar del Plata
numbers:
  - phone_number_id: '600'
    display_phone: '+5492235000601'
    branch: SUC6
users:
  - username: ana
    full_name: Ana Gómez
    role: agent
    branch: SUC1
    capacity: 3
  - username: nora
    full_name: Nora Paz
    role: agent
    branch: SUC6
templates:
  - number: '600'
    name: bienvenida
    body: Hola
"""
    )
    with pytest.raises(ConfigInvalid) as raised:
        await apply_config(db, document=document)

    assert [str(problem) for problem in raised.value.problems] == ['template 600/bienvenida/es_AR: template rejected']
    assert await _count(db, Branch) == 2
    assert await _count(db, WhatsAppNumber) == 2
    async with db.session() as session:
        assert (await session.exec(select(User).where(User.username == 'nora'))).first() is None
        ana = (await session.exec(select(User).where(User.username == 'ana'))).one()
    assert ana.capacity == 8


async def test_the_40_number_example_applies_and_is_then_idempotent(db: Database) -> None:
    document = load_document(EXAMPLE.read_text(encoding='utf-8'))
    first = await apply_config(db, document=document)

    assert first.applied
    assert await _count(db, WhatsAppNumber) == 40
    assert await _count(db, Branch) == 8
    assert len(first.passwords) == await _count(db, User)  # nobody in the example has a password in the file
    async with db.session() as session:
        meta_test = (
            await session.exec(select(WhatsAppNumber).where(col(WhatsAppNumber.display_phone).startswith('+1555')))
        ).all()
        neuquen = (await session.exec(select(Branch).where(Branch.code == 'SUC8'))).one()
    assert len(meta_test) == 2
    assert (neuquen.assistant_engine, neuquen.takeover_timeout_seconds, neuquen.assignment_rule) == (
        'rule',
        600,
        'round_robin',
    )
    again = await apply_config(db, document=document)
    assert again.plan.empty and not again.applied


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite() -> None:
    with pytest.raises(ConfigInvalid) as raised:
        load_document("numbers: []\nusers: []\nnumbers:\n  - phone_number_id: '1'\n")
    assert [str(problem) for problem in raised.value.problems] == [
        "line 3, column 1: not valid YAML: 'numbers' is given twice in the same mapping"
    ]
