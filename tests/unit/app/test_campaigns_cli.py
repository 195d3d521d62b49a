"""`leadmaster campaigns create|run|show|list`, against the same database as the app (both databases)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from services.database import Database
from tests.conftest import World
from tests.unit.services.campaigns.prospects import TEMPLATE, Prospect, add_prospects, add_template


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


@pytest.fixture
def prospects(database_url: str, world: World) -> None:
    async def make() -> None:
        db = Database.from_url(database_url)
        try:
            await add_template(db, world.central_number)
            central = world.central.id or 0
            await add_prospects(
                db,
                [
                    Prospect('5491160000001', 'Lucía Paz', score=92, labels=['taller'], branch_ids=[central]),
                    Prospect('5491160000002', 'Omar Gil', score=81, labels=['taller'], branch_ids=[central]),
                    Prospect('5491160000003', 'Hugo Díaz', score=55, labels=['taller'], branch_ids=[central]),
                    Prospect(
                        '5491160000004', 'Ema Ruiz', score=88, validated=False, labels=['taller'], branch_ids=[central]
                    ),
                    Prospect('5491160000005', 'Leo Vera', score=99, labels=['flota'], branch_ids=[central]),
                ],
            )
        finally:
            await db.dispose()

    asyncio.run(make())


def test_create_run_and_show_a_campaign(run_cli, prospects: None) -> None:
    output = run_cli(
        'campaigns', 'create', '--name', 'Pastillas', '--number', 'pn-central', '--template', TEMPLATE,
        '--min-score', '70', '--label', 'taller', '--branch', 'SUC1',
    )  # fmt: skip
    campaign_id = output.strip().splitlines()[-1]
    assert campaign_id.isdigit()

    assert '4 recipients, 2 queued, 2 blocked' in run_cli('campaigns', 'run', campaign_id)
    shown_text = run_cli('campaigns', 'show', campaign_id)
    assert 'destinatarios 4, en cola 2' in shown_text
    assert 'bloqueados 2; contactabilidad baja: 1; no validado: 1' in shown_text
    shown = json.loads(run_cli('campaigns', 'show', campaign_id, '--json'))
    assert (shown['recipients'], shown['queued'], shown['sent']) == (4, 2, 0)
    assert shown['blocked'] == {'low_score': 1, 'not_validated': 1}
    assert [band['band'] for band in shown['bands']] == ['0–49', '50–69', '70–79', '80–89', '90–100']
    assert [band['recipients'] for band in shown['bands']] == [0, 1, 0, 2, 1]
    assert 'already started' in run_cli('campaigns', 'run', campaign_id)

    listed = [json.loads(line) for line in run_cli('campaigns', 'list', '--json').splitlines()]
    assert listed == [{'id': int(campaign_id), 'name': 'Pastillas', 'status': 'running', 'recipients': 4}]


def test_errors_are_one_clear_line(run_cli, prospects: None) -> None:
    base = ['campaigns', 'create', '--name', 'x', '--number', 'pn-central']
    assert 'no template' in run_cli(*base, '--template', 'nada', expect_exit=1)
    assert 'cannot go lower' in run_cli(*base, '--template', TEMPLATE, '--min-score', '50', expect_exit=1)
    assert 'no campaign 99' in run_cli('campaigns', 'show', '99', expect_exit=1)
