"""`leadmaster config apply FILE [--dry-run]` (issue 15), against the app's database (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from app.commands.config import cli
from services.database import Database
from services.models import Branch, User, WhatsAppNumber
from tests.conftest import World

T = TypeVar('T')

FILE = """
branches:
  - code: SUC3
    name: Córdoba
    settings:
      assignment_rule: least_busy
numbers:
  - phone_number_id: '5550003'
    display_phone: '+15550100003'
    branch: SUC3
users:
  - username: carla
    full_name: Carla Ruiz
    role: agent
    branch: SUC3
"""


@pytest.fixture
def run_cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> str:  # `leadmaster config …`
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    return run


def run_on(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database.from_url(database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def counts(database_url: str) -> tuple[int, int, int]:
    async def work(db: Database) -> tuple[int, int, int]:
        async with db.session() as session:
            found = [
                (await session.exec(select(func.count()).select_from(model))).one()
                for model in (Branch, WhatsAppNumber, User)
            ]
        return found[0], found[1], found[2]

    return run_on(database_url, work)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'leadmaster.yaml'
    path.write_text(text, encoding='utf-8')
    return path


def test_apply_twice_creates_once_then_says_nothing_changed(
    run_cli: Callable[..., str], database_url: str, world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, FILE)

    first = run_cli('apply', str(path))

    assert '+ create branch SUC3' in first
    assert "    assignment_rule: 'least_busy'" in first
    assert "+ create number 5550003\n    branch: 'SUC3'\n    display_phone: '+15550100003'" in first
    assert 'one-time password for carla: ' in first
    assert 'Applied.' in first
    assert counts(database_url) == (3, 3, 5)

    second = run_cli('apply', str(path))

    assert second.startswith('Nothing to change: the database already matches the file (3 entries).')
    assert 'one-time password' not in second
    assert counts(database_url) == (3, 3, 5)


def test_the_dry_run_prints_the_diff_and_changes_nothing(
    run_cli: Callable[..., str], database_url: str, world: World, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
branches:
  - code: SUC1
    name: Casa Central
    settings:
      takeover_timeout_seconds: 900
users:
  - username: ana
    full_name: Ana Gómez
    role: agent
    branch: SUC1
    capacity: 4
""",
    )

    output = run_cli('apply', str(path), '--dry-run')

    assert '~ update branch SUC1\n    takeover_timeout_seconds: 300 → 900' in output
    assert '~ update user ana\n    capacity: 8 → 4' in output
    assert '0 to create, 2 to change, 0 already as in the file.' in output
    assert 'Dry run: nothing was changed.' in output

    async def stored(db: Database) -> tuple[int, int]:
        async with db.session() as session:
            central = (await session.exec(select(Branch).where(Branch.code == 'SUC1'))).one()
            ana = (await session.exec(select(User).where(User.username == 'ana'))).one()
        return central.takeover_timeout_seconds, ana.capacity

    assert run_on(database_url, stored) == (300, 8)


def test_errors_are_listed_with_their_path_and_nothing_is_applied(
    run_cli: Callable[..., str], database_url: str, world: World, tmp_path: Path
) -> None:
    numbers = '\n'.join(
        f"  - phone_number_id: 'pn-{index}'\n    display_phone: '+54911500002{index:02d}'\n    branch: SUC1"
        for index in range(12)
    )
    path = write(
        tmp_path,
        'numbers:\n'
        + numbers
        + """
  - phone_number_id: 'pn-12'
    display_phone: '+5491150000299'
    branch: SUC9
""",
    )

    output = run_cli('apply', str(path), expect_exit=1)

    assert '1 problem(s); nothing was changed' in output
    assert '  numbers[12].branch: unknown branch SUC9' in output
    assert counts(database_url) == (2, 2, 4)


def test_a_file_that_is_not_yaml_says_where(run_cli: Callable[..., str], world: World, tmp_path: Path) -> None:
    path = write(tmp_path, 'branches:\n  - code: [SUC1\n')

    output = run_cli('apply', str(path), expect_exit=1)

    assert 'line 3, column 1: not valid YAML' in output
