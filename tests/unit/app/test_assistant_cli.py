"""`leadmaster assistant replay FILE.json [--json]` (issue 18): one JSON line per customer turn with the reply, the
handoff and the summary, against the configured database's catalog; nothing sent nor stored; bad input is one
clear line and exit 1 (both databases)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select
from typer.testing import CliRunner

from app.cli import cli
from services.catalog import import_products
from services.database import Database
from services.demo.catalog import generate_catalog
from services.models import Branch, Contact, Conversation, Message, Quote
from tests.conftest import World


def run_on(database_url: str, work: Any) -> Any:
    """Run `work(db)` in its own event loop with its own engine (the CLI's loop is not the fixtures' loop)."""

    async def main() -> Any:
        db = Database.from_url(database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


@pytest.fixture
def with_catalog(database_url: str, world: World) -> None:
    run_on(database_url, lambda db: import_products(db, generate_catalog(1500, branch_codes=('SUC1', 'SUC2'))))


@pytest.fixture
def replay(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    monkeypatch.delenv('LEADMASTER_LLM_API_KEY', raising=False)  # the rule engine: offline, deterministic
    runner = CliRunner()

    def run(content: object, *options: str, expect_exit: int = 0) -> tuple[str, str]:
        path = tmp_path / 'dialogue.json'
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding='utf-8')
        result = runner.invoke(cli, ['assistant', 'replay', str(path), *options], catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.stdout, result.stderr

    return run


def test_json_lines_one_per_customer_turn_with_reply_handoff_and_summary(replay, with_catalog) -> None:
    out, _ = replay(
        {
            'branch': 'SUC1',
            'messages': [
                'hola, necesito pastillas de freno para un gol trend modelo 15',
                'dale, las de 61 mil',
                'quiero hablar con una persona',
            ],
        },
        '--json',
    )

    lines = [json.loads(line) for line in out.splitlines()]
    assert [line['turn'] for line in lines] == [1, 2, 3]
    first = lines[0]
    assert set(first) == {'turn', 'reply', 'handoff', 'summary'}
    assert set(first['summary']) == {'vehicle', 'products', 'intent', 'stage'}
    assert first['summary']['vehicle'] == {'make': 'Volkswagen', 'model': 'Gol Trend', 'year': 2015, 'vin': None}
    assert 'SKU' in first['reply'] and first['handoff'] is False
    assert first['summary']['products'] and set(first['summary']['products'][0]) == {'sku', 'name', 'price'}
    assert first['summary']['stage'] == 'products'
    assert lines[1]['summary']['vehicle']['year'] == 2015  # a price, not a 1961 car
    assert lines[2]['handoff'] is True and lines[2]['reply']


def test_a_readable_transcript_without_json(replay, with_catalog) -> None:
    out, _ = replay({'branch': 'suc1', 'messages': ['filtro de aceite para palio 2010']})

    assert '[1] Cliente: filtro de aceite para palio 2010' in out
    assert 'Asistente:' in out and 'Fiat Palio 2010' in out


def test_nothing_is_sent_nor_stored(replay, with_catalog, database_url: str) -> None:
    async def counts(db: Database) -> tuple[int, ...]:
        async with db.session() as session:
            return tuple(
                [
                    (await session.exec(select(func.count()).select_from(table))).one()
                    for table in (Contact, Conversation, Message, Quote)
                ]
            )

    before = run_on(database_url, counts)
    replay(
        {'branch': 'SUC1', 'messages': ['pastillas de freno para gol trend 2015', 'pasame el presupuesto']}, '--json'
    )

    assert run_on(database_url, counts) == before == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ('content', 'message'),
    [
        ({'branch': 'SUC9', 'messages': ['hola']}, "no branch 'SUC9'"),
        ('{"branch": "SUC1", "messages": [', 'is not valid JSON'),
        ({'branch': 'SUC1', 'messages': []}, '"messages" must be a non-empty list'),
        ({'messages': ['hola']}, '"branch" must be a branch code'),
        ({'branch': 'SUC1', 'messages': ['hola', 3]}, 'every item of "messages" must be a non-empty string'),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(replay, world: World, content: object, message: str) -> None:
    out, err = replay(content, '--json', expect_exit=1)

    assert out == ''
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_missing_file_is_one_clear_line_and_exit_1(database_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    result = CliRunner().invoke(cli, ['assistant', 'replay', str(tmp_path / 'nope.json')])

    assert result.exit_code == 1
    assert result.stderr.strip() == f'error: no file {tmp_path / "nope.json"}'


def test_a_quote_request_tells_what_the_bot_would_send_for_the_branch(replay, with_catalog, database_url: str) -> None:
    dialogue = {'branch': 'SUC1', 'messages': ['pastillas de freno para gol trend 2015', 'cotizame el 1']}
    out, _ = replay(dialogue, '--json')
    drafted = json.loads(out.splitlines()[1])
    assert drafted['handoff'] is True and 'Un vendedor de Casa Central lo revisa' in drafted['reply']

    async def let_the_ai_send(db: Database) -> None:
        async with db.session() as session:
            await session.exec(update(Branch).where(col(Branch.code) == 'SUC1').values(ai_sends_quotes=True))
            await session.commit()

    run_on(database_url, let_the_ai_send)
    out, _ = replay(dialogue, '--json')
    sent = json.loads(out.splitlines()[1])
    assert sent['handoff'] is False and 'Respondé SÍ para confirmarlo' in sent['reply']
