"""`leadmaster secrets …` (SPEC O3, issue 19): a value goes in through standard input and never comes back out;
`leadmaster run` and `leadmaster worker` hand the stored LLM and WAHA keys to the clients they build (the
environment wins); `rotate` moves everything to a new key after which the old one is not needed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

import app.cli
import app.wiring
import app.worker_process
import services.metrics
from app.background import build_workers
from app.cli import cli
from app.database import database_from
from app.event_bus import build_event_bus
from app.settings import Settings
from services import secrets
from services.assistant.llm import LLMEngine
from services.media_store import MediaStore
from services.secrets import SecretsKey
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.waha.client import WahaError
from services.whatsapp.waha.fake_server import FakeWahaApi
from tests.fakes.openai_server import FakeOpenAI, Text

LLM_KEY = 'sk-or-v1-stored-llm-key-9876543210'
WAHA_KEY = 'stored-waha-gateway-key-42'

RunCli = Callable[..., str]


@pytest.fixture
def gateway() -> Iterator[FakeWahaApi]:
    with FakeWahaApi(api_key=WAHA_KEY) as fake:
        yield fake


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(key=LLM_KEY) as fake:
        yield fake


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / 'var'


@pytest.fixture
def run_cli(
    database_url: str,
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    gateway: FakeWahaApi,
    llm: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[RunCli]:
    """The CLI in an environment with no secret in it: only where the database, the gateway and the LLM are."""
    for name in (*secrets.secret_setting_names(Settings), 'secrets_key', 'secrets_old_keys'):
        monkeypatch.delenv(f'LEADMASTER_{name.upper()}', raising=False)
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(var_dir))
    monkeypatch.setenv('LEADMASTER_WAHA_BASE_URL', gateway.base_url)
    monkeypatch.setenv('LEADMASTER_LLM_BASE_URL', llm.base_url)
    monkeypatch.setenv('LEADMASTER_SECRET_KEY', 'test-session-secret')
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None, expect_exit: int = 0) -> str:
        result = runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    yield run
    # Whatever was run, no stored value reached a log line.
    assert LLM_KEY not in caplog.text and WAHA_KEY not in caplog.text


def served_settings(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings `leadmaster run` builds the app with (the server itself is not started)."""
    built: list[Settings] = []
    monkeypatch.setattr(app.wiring, 'build', built.append)
    monkeypatch.setattr(app.wiring, 'serve', lambda settings: None)
    monkeypatch.setattr(app.cli, 'configure_logging', lambda **_: None)
    run_cli('run')
    [settings] = built
    return settings


async def keys_the_workers_use(settings: Settings, llm: FakeOpenAI) -> tuple[bool, bool]:
    """Build the background workers as the app does and use their WAHA and LLM clients over real HTTP: True where
    the gateway / the LLM accepted the key they were given."""
    db = database_from(settings)
    bus = build_event_bus(kind='in_process', database_url=settings.effective_database_url)
    graph = GraphClient(base_url=settings.effective_graph_api_base, token=settings.effective_whatsapp_token)
    workers = build_workers(settings, db=db, bus=bus, media=MediaStore(settings.media_dir), graph=graph, online=set)
    try:
        try:
            await workers.waha.list_sessions()
            waha_accepted = True
        except WahaError:  # the fake gateway answers 401 to a wrong or missing key
            waha_accepted = False
        engine = workers.assistant_engine
        llm_accepted = False
        if isinstance(engine, LLMEngine):
            llm.script([Text('hola')])
            try:
                await engine.client.chat.completions.create(
                    model=settings.llm_model, messages=[{'role': 'user', 'content': 'hola'}]
                )
                llm_accepted = True
            except openai.AuthenticationError:  # 401: a wrong key
                llm_accepted = False
        return waha_accepted, llm_accepted
    finally:
        await workers.stop()
        await graph.aclose()
        await db.dispose()


def test_the_app_uses_the_stored_llm_and_waha_keys_when_the_environment_has_none(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI
) -> None:
    assert asyncio.run(keys_the_workers_use(served_settings(run_cli, monkeypatch), llm)) == (False, False)

    assert 'llm_api_key stored' in run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY + '\n')
    run_cli('secrets', 'set', 'LEADMASTER_WAHA_API_KEY', stdin=WAHA_KEY)

    assert asyncio.run(keys_the_workers_use(served_settings(run_cli, monkeypatch), llm)) == (True, True)


def test_the_environment_wins_over_the_store(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI) -> None:
    run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)
    run_cli('secrets', 'set', 'waha_api_key', stdin=WAHA_KEY)
    monkeypatch.setenv('LEADMASTER_LLM_API_KEY', 'sk-env-key-that-the-llm-refuses')

    assert 'environment wins' in run_cli('secrets', 'list')
    assert asyncio.run(keys_the_workers_use(served_settings(run_cli, monkeypatch), llm)) == (True, False)
    assert 'set in the environment' in run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)


def test_the_worker_process_uses_the_stored_keys(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)
    run_cli('secrets', 'set', 'waha_api_key', stdin=WAHA_KEY)
    built: list[Settings] = []

    class Built(Exception):
        pass

    def capture(settings: Settings, **_: object) -> None:
        built.append(settings)
        raise Built

    monkeypatch.setattr(app.worker_process, 'build_workers', capture)
    monkeypatch.setattr(services.metrics, 'configure_metrics', lambda **_: None)
    with pytest.raises(Built):
        asyncio.run(app.worker_process.serve_workers(Settings()))

    [settings] = built
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == LLM_KEY
    assert settings.effective_waha_api_key == WAHA_KEY


def test_no_command_ever_prints_a_value(run_cli: RunCli) -> None:
    outputs = [
        run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY),
        run_cli('secrets', 'set', 'waha_api_key', stdin=WAHA_KEY),
        run_cli('secrets', 'list'),
        run_cli('secrets', 'rotate'),
        run_cli('secrets', 'list'),
        run_cli('secrets', 'delete', 'waha_api_key'),
    ]

    assert all(LLM_KEY not in output and WAHA_KEY not in output for output in outputs)
    listed = [line.split('\t') for line in outputs[4].splitlines()]
    assert [fields[0] for fields in listed] == ['llm_api_key', 'waha_api_key']
    assert [fields[3] for fields in listed] == ['cli', 'cli']
    assert run_cli('secrets', 'list').splitlines()[0].startswith('llm_api_key\t')


def test_only_secret_settings_are_accepted_and_a_value_is_required(run_cli: RunCli) -> None:
    refused = run_cli('secrets', 'set', 'llm_model', stdin='google/gemini', expect_exit=2)
    assert 'llm_api_key' in refused  # the error lists the names that are allowed
    assert 'no value given' in run_cli('secrets', 'set', 'llm_api_key', stdin='\n', expect_exit=1)
    assert 'no stored secret llm_api_key' in run_cli('secrets', 'delete', 'llm_api_key', expect_exit=1)
    assert run_cli('secrets', 'list').strip() == 'no secrets stored'


def test_rotating_the_generated_key_leaves_the_old_one_unneeded(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, var_dir: Path
) -> None:
    run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)
    run_cli('secrets', 'set', 'waha_api_key', stdin=WAHA_KEY)
    old = SecretsKey.from_text((var_dir / secrets.KEY_FILE).read_text(), origin='test')

    said = run_cli('secrets', 'rotate')

    new = SecretsKey.from_text((var_dir / secrets.KEY_FILE).read_text(), origin='test')
    assert new.key_id != old.key_id
    assert f'2 secrets sealed again under key {new.key_id}' in said
    retired = var_dir / f'{secrets.KEY_FILE}.retired-{old.key_id}'
    assert str(retired) in said and not (var_dir / secrets.PENDING_KEY_FILE).exists()
    retired.unlink()  # the old key is gone for good
    assert {line.split('\t')[1] for line in run_cli('secrets', 'list').splitlines()} == {new.key_id}
    settings = served_settings(run_cli, monkeypatch)
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == LLM_KEY
    assert settings.effective_waha_api_key == WAHA_KEY


def test_rotating_to_a_key_of_the_environment(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = SecretsKey.generate(), SecretsKey.generate()
    monkeypatch.setenv('LEADMASTER_SECRETS_KEY', old.encoded())
    run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)

    # The operator puts the new key in place and the old one among the old keys, then rotates.
    monkeypatch.setenv('LEADMASTER_SECRETS_KEY', new.encoded())
    monkeypatch.setenv('LEADMASTER_SECRETS_OLD_KEYS', json.dumps([old.encoded()]))
    assert f'1 secrets sealed again under key {new.key_id}' in run_cli('secrets', 'rotate')
    monkeypatch.delenv('LEADMASTER_SECRETS_OLD_KEYS')

    settings = served_settings(run_cli, monkeypatch)
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == LLM_KEY


def test_a_wrong_key_stops_the_app_with_one_clear_line(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    right = SecretsKey.generate()
    monkeypatch.setenv('LEADMASTER_SECRETS_KEY', right.encoded())
    run_cli('secrets', 'set', 'llm_api_key', stdin=LLM_KEY)
    monkeypatch.setenv('LEADMASTER_SECRETS_KEY', SecretsKey.generate().encoded())

    said = run_cli('run', expect_exit=1)

    assert said.startswith('error: stored secret llm_api_key was sealed with key ' + right.key_id)
    assert 'Traceback' not in said and 'cryptography' not in said
