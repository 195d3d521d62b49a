"""Inbox search (C1): names, phones and message text, without caring about accents or case, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, MetaData, Table, delete, insert, inspect, text, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, col, select

from app.database import alembic_config, upgrade_to_head
from services.database import Database
from services.inbox.search import conversation_matches, escape_like, fts5_query, normalize_term, phone_digits
from services.models import (
    Branch,
    Contact,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    SenderKind,
    WhatsAppNumber,
    table_of,
)
from services.models.base import ChannelKind
from tests.conftest import fresh_postgres_database

JOSE, MARIA, LUCIA, GOMERIA = 'José Núñez', 'María', 'Lucía Álvarez', 'Gomería 50%'
PEOPLE = {
    JOSE: (
        '',
        '+5491155550101',
        ['Hola, ¿tienen la cámara de estacionamiento para el Cronos?', 'PASTILLAS DE FRENO delanteras, por favor'],
    ),
    MARIA: (
        'Taller Peña',
        '+5493415550202',
        ['Precio del kit de distribución', 'Oferta 100% original', 'Repuesto código AB_12'],
    ),
    LUCIA: ('', '+5491144443333', ['Gracias!', 'Quiero 5 unidades (urgente) "ya"', 'Modelo ABX12']),
    GOMERIA: ('', '+5491122221111', ['Cubiertas rodado 14']),
}


@dataclass
class Inbox:
    number: WhatsAppNumber
    conversations: dict[str, int]  # profile name → conversation id


async def add_person(
    db: Database, number: WhatsAppNumber, *, profile_name: str, display_name: str = '', phone: str, messages: list[str]
) -> int:
    async with db.session() as session:
        contact = Contact(profile_name=profile_name, display_name=display_name, phone_e164=phone)
        session.add(contact)
        await session.flush()
        conversation = Conversation(contact_id=contact.id or 0, number_id=number.id or 0, branch_id=number.branch_id)
        session.add(conversation)
        await session.flush()
        session.add_all(
            Message(
                conversation_id=conversation.id or 0,
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                text=body,
            )
            for body in messages
        )
        await session.commit()
        return conversation.id or 0


async def add_number(db: Database) -> WhatsAppNumber:
    async with db.session() as session:
        branch = Branch(code='SUC1', name='Casa Central')
        session.add(branch)
        await session.flush()
        number = WhatsAppNumber(
            branch_id=branch.id or 0,
            channel=ChannelKind.SIMULATOR,
            phone_number_id='pn-1',
            display_phone='+5491150000101',
        )
        session.add(number)
        await session.commit()
        return number


@pytest.fixture
async def inbox(db: Database) -> Inbox:
    number = await add_number(db)
    conversations = {}
    for name, (display_name, phone, messages) in PEOPLE.items():
        conversations[name] = await add_person(
            db, number, profile_name=name, display_name=display_name, phone=phone, messages=messages
        )
    return Inbox(number=number, conversations=conversations)


def inbox_query(dialect: str, term: str):
    # The shape the inbox uses: conversations joined with their contact, filtered by the search.
    return (
        select(Contact.profile_name)
        .select_from(Conversation)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(conversation_matches(dialect, term))
    )


async def search(db: Database, term: str) -> set[str]:
    async with db.session() as session:
        return set((await session.exec(inbox_query(db.dialect, term))).all())


# What the user types --------------------------------------------------------------------------------


def test_a_term_is_trimmed_collapsed_and_capped() -> None:
    assert normalize_term('  cámara   de \n freno\t') == 'cámara de freno'
    assert normalize_term('ca\u0301mara') == 'cámara'  # a combining accent is the same letter
    assert normalize_term('   ') == ''
    assert normalize_term('\x00\u200b\x1f') == ''
    assert normalize_term('a' * 300) == 'a' * 100
    assert normalize_term('x' * 99 + ' y') == 'x' * 99


def test_user_input_cannot_become_operators() -> None:
    assert escape_like('50%_\\') == '50\\%\\_\\\\'
    assert fts5_query('pastil fren') == '"pastil"* "fren"*'
    assert fts5_query('AND "x" NEAR(* col:val') == '"AND"* "x" "NEAR"* "col"* "val"*'
    assert fts5_query('%% ()') == ''


def test_phone_digits_accept_the_ways_people_write_numbers() -> None:
    assert phone_digits('5555') == ['5555']
    assert phone_digits('+54 9 11 5555') == ['549115555']
    assert phone_digits('011 15 5555-0101') == ['0111555550101', '5491155550101']
    assert phone_digits('+54 11 5555-0101') == ['541155550101', '5491155550101']
    assert phone_digits('55') == []
    assert phone_digits('filtro 2015') == []


# Names and phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize('term', ['nunez', 'NÚÑEZ', 'núñez', 'jose nu', 'Jose'])
async def test_a_name_is_found_with_or_without_accents_in_any_case(db: Database, inbox: Inbox, term: str) -> None:
    assert await search(db, term) == {JOSE}


async def test_display_and_profile_names_are_both_searched(db: Database, inbox: Inbox) -> None:
    assert await search(db, 'taller pena') == {MARIA}  # display name, typed without ñ
    assert await search(db, 'ALVAREZ') == {LUCIA}
    assert await search(db, 'gomeria') == {GOMERIA}


@pytest.mark.parametrize(
    'term', ['5555 0101', '+54 9 11 5555', '011 15 5555-0101', '+54 11 5555-0101', '(11) 5555-0101', '0101']
)
async def test_a_phone_is_found_by_its_digits_in_any_format(db: Database, inbox: Inbox, term: str) -> None:
    assert await search(db, term) == {JOSE}


async def test_digits_inside_words_are_not_a_phone_search(db: Database, inbox: Inbox) -> None:
    assert await search(db, '341') == {MARIA}  # Rosario's area code: a phone search
    assert await search(db, 'rodado 341') == set()  # words with a number: text, not phones


# Message text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'term', ['camara', 'CÁMARA', 'Cámara De', 'cronos cámara', 'pastil fren', 'freno delant', 'ESTACIONAMIENTO']
)
async def test_message_text_is_found_regardless_of_accents_case_and_word_endings(
    db: Database, inbox: Inbox, term: str
) -> None:
    assert await search(db, term) == {JOSE}


async def test_every_word_must_be_in_one_message_of_that_conversation(db: Database, inbox: Inbox) -> None:
    assert await search(db, 'distribucion') == {MARIA}
    assert await search(db, 'gracias') == {LUCIA}
    assert await search(db, 'cámara distribución') == set()  # two conversations, not one message
    assert await search(db, 'frenos') == set()


async def test_an_empty_term_filters_nothing(db: Database, inbox: Inbox) -> None:
    assert await search(db, '  ') == set(PEOPLE)


# Hostile or odd input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('term', 'expected'),
    [
        ('%', {GOMERIA}),  # a literal percent sign, in one name, not "anything"
        ('50%', {GOMERIA}),
        ('_', set()),  # no name has an underscore; unescaped it would match every name
        ('100%', {MARIA}),
        ('AB_12', {MARIA}),  # not 'ABX12'
        ('unidades (urgente)', {LUCIA}),
        ('urgente AND ya', set()),  # AND is a word to find, not an operator
        ('urgente OR cubiertas', set()),
        ('NEAR(urgente ya)', set()),
        ('"ya"', set()),
        ('*', set()),
    ],
)
async def test_wildcards_and_operators_in_the_term_mean_themselves(
    db: Database, inbox: Inbox, term: str, expected: set[str]
) -> None:
    assert await search(db, term) == expected


@pytest.mark.parametrize(
    'term',
    [
        '\\',
        '"',
        "'",
        'a"b',
        '" OR 1=1 --',
        "'; DROP TABLE messages; --",
        '(',
        ')',
        '^freno',
        '[a-z]',
        '?',
        'text:freno',
        '-freno',
        '+freno',
        'freno*',
        'NOT freno',
        '\x00freno',
        'emoji 🚗 freno',
        'x' * 500,
        'ñ' * 100,
        '%_%_%',
    ],
)
async def test_any_input_runs_without_error_and_never_matches_everything(db: Database, inbox: Inbox, term: str) -> None:
    assert await search(db, term) != set(PEOPLE)


# Keeping up with new messages ---------------------------------------------------------------------


async def test_messages_written_after_the_migration_are_found(db: Database, inbox: Inbox) -> None:
    lucia = inbox.conversations[LUCIA]
    async with db.session() as session:
        message = Message(
            conversation_id=lucia,
            direction=Direction.INBOUND,
            sender_kind=SenderKind.CUSTOMER,
            text='¿Tenés un turbocompresor Garrett?',
        )
        session.add(message)
        await session.commit()
    assert await search(db, 'turbocompresor') == {LUCIA}

    async with db.session() as session:
        # A status change does not touch the text (nor, on SQLite, the full-text index).
        await session.exec(update(Message).where(col(Message.id) == message.id).values(status=MessageStatus.READ))
        await session.commit()
    assert await search(db, 'turbo garrett') == {LUCIA}

    async with db.session() as session:
        await session.exec(update(Message).where(col(Message.id) == message.id).values(text='Un radiador, mejor'))
        await session.commit()
    assert await search(db, 'turbocompresor') == set()
    assert await search(db, 'radiador') == {LUCIA}

    async with db.session() as session:
        await session.exec(delete(Message).where(col(Message.id) == message.id))
        await session.commit()
    assert await search(db, 'radiador') == set()


async def test_the_message_search_reads_its_index(db: Database, inbox: Inbox) -> None:
    """With 20,000 messages the text is searched through the index, not by reading every message."""
    jose = inbox.conversations[JOSE]
    # Copies of one ORM-made message with a varying text, so every column keeps the model's defaults.
    columns = ', '.join(
        column.name for column in table_of(Message).columns if column.name not in {'id', 'wa_message_id', 'text'}
    )
    numbers = (
        'SELECT generate_series(1, 20000) AS n'
        if db.dialect == 'postgresql'
        else 'WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT n FROM s'
    )
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                f'INSERT INTO messages ({columns}, text) '  # noqa: S608 - the model's own column names
                f"SELECT {columns}, 'Consulta ' || numbers.n || ': pastillas de freno para Gol Trend' "
                f'FROM ({numbers}) AS numbers, (SELECT * FROM messages WHERE conversation_id = :jose LIMIT 1) AS one'
            ),
            {'jose': jose},
        )
        await connection.execute(text('ANALYZE'))

    query = inbox_query(db.dialect, 'turbocompresor')
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={'literal_binds': True}))
    async with db.engine.connect() as connection:
        if db.dialect == 'postgresql':
            plan = '\n'.join((await connection.execute(text(f'EXPLAIN {sql}'))).scalars())
            assert 'ix_search_messages_text' in plan, plan
        else:
            plan = '\n'.join(row[-1] for row in await connection.execute(text(f'EXPLAIN QUERY PLAN {sql}')))
            assert 'messages_fts VIRTUAL TABLE' in plan, plan
    assert await search(db, 'pastil fren gol') == {JOSE}
    assert await search(db, 'turbocompresor') == set()


# The migration itself -----------------------------------------------------------------------------


@pytest.fixture(params=['sqlite', 'postgresql'])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == 'sqlite':
        return f'sqlite+aiosqlite:///{tmp_path / "search.sqlite3"}'
    return fresh_postgres_database('leadmaster_search_migration_test')


@pytest.fixture
async def database_at_0002(empty_database_url: str) -> AsyncIterator[Database]:
    """A database migrated up to the revision before the search objects."""
    database = Database.from_url(empty_database_url)
    await _migrate(database, 'upgrade', '0002')
    yield database
    await database.dispose()


async def _migrate(db: Database, direction: str, revision: str) -> None:
    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        getattr(command, direction)(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(_run)


async def _search_objects(db: Database) -> set[str]:
    def _names(connection: Connection) -> set[str]:
        inspector = inspect(connection)
        names = {name for name in inspector.get_table_names() if name.startswith('messages_fts')}
        for table in ('messages', 'contacts'):
            names |= {
                name
                for index in inspector.get_indexes(table)
                if (name := index['name']) is not None and name.startswith('ix_search_')
            }
        if connection.dialect.name == 'postgresql':
            names |= set(
                connection.execute(text("SELECT proname FROM pg_proc WHERE proname = 'leadmaster_unaccent'")).scalars()
            )
        else:
            names |= set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'messages_fts%'")
                ).scalars()
            )
        return names

    async with db.engine.connect() as connection:
        return await connection.run_sync(_names)


async def _insert_as_at_0002(db: Database, row: SQLModel) -> int:
    """Write `row` with only the columns its table had at revision 0002: the models have grown since, and the
    ORM would also write the newer columns."""
    table = table_of(type(row))

    def _columns(connection: Connection) -> set[str]:
        return {column['name'] for column in inspect(connection).get_columns(table.name)}

    async with db.engine.begin() as connection:
        existing = await connection.run_sync(_columns)
        # A copy without the models' defaults: those of the newer columns would be written too.
        then = Table(
            table.name,
            MetaData(),
            *[
                Column(column.name, column.type, primary_key=column.primary_key)
                for column in table.columns
                if column.name in existing
            ],
        )
        values = {name: value for name, value in row.model_dump().items() if name in existing and name != 'id'}
        result = await connection.execute(insert(then).values(**values).returning(then.c.id))
        return result.scalar_one()


async def test_the_migration_indexes_existing_messages_and_downgrades_cleanly(database_at_0002: Database) -> None:
    db = database_at_0002
    branch_id = await _insert_as_at_0002(db, Branch(code='SUC1', name='Casa Central'))
    number_id = await _insert_as_at_0002(
        db,
        WhatsAppNumber(
            branch_id=branch_id, channel=ChannelKind.SIMULATOR, phone_number_id='pn-1', display_phone='+5491150000101'
        ),
    )
    contact_id = await _insert_as_at_0002(db, Contact(profile_name=JOSE, phone_e164='+5491155550101'))
    conversation_id = await _insert_as_at_0002(
        db, Conversation(contact_id=contact_id, number_id=number_id, branch_id=branch_id)
    )
    await _insert_as_at_0002(
        db,
        Message(
            conversation_id=conversation_id,
            direction=Direction.INBOUND,
            sender_kind=SenderKind.CUSTOMER,
            text='La cámara trasera',
        ),
    )

    await upgrade_to_head(db)
    assert await search(db, 'camara') == {JOSE}  # written before the migration

    await _migrate(db, 'downgrade', '0002')
    assert await _search_objects(db) == set()

    await upgrade_to_head(db)
    assert await search(db, 'camara trasera') == {JOSE}
    assert len(await _search_objects(db)) > 1
