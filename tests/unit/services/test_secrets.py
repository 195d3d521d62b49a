"""Secrets kept in the database, encrypted at rest (SPEC O3, issue 19): what is stored cannot be read without the
key, cannot be moved to another name, survives a rotation, and never shows up in a list, an audit entry, an error or
a log."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import col, select

from app.settings import Settings
from services import secrets
from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.models import AuditEntry, StoredSecret, User
from services.secrets import Keyring, SecretsKey, SecretsKeyError
from tests.conftest import World

LLM_KEY = 'sk-or-v1-the-real-llm-key-0123456789'
WAHA_KEY = 'waha-gateway-key-abcdef'


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(current=SecretsKey.generate())


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


async def raw_rows(db: Database) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        result = await connection.execute(text('SELECT * FROM stored_secrets ORDER BY name'))
        return [tuple(row) for row in result.all()]


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    """Settings as a process would read them from an environment holding only `values`."""
    return Settings(_env_file=None, var_dir=tmp_path / 'var', **values)


async def test_a_stored_secret_reads_back_and_is_not_in_the_table_in_clear(db: Database, keyring: Keyring) -> None:
    assert await secrets.get_secret(db, keyring=keyring, name='llm_api_key') is None

    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    await secrets.put_secret(db, keyring=keyring, name='waha_api_key', value=SecretStr(WAHA_KEY), actor=None)

    got = await secrets.get_secret(db, keyring=keyring, name='llm_api_key')
    assert got is not None and got.get_secret_value() == LLM_KEY
    assert LLM_KEY not in repr(got)
    rows = await raw_rows(db)
    assert len(rows) == 2
    for row in rows:
        stored = b''.join(value if isinstance(value, bytes) else str(value).encode() for value in row)
        for secret in (LLM_KEY, WAHA_KEY):
            assert secret.encode() not in stored
            assert base64.b64encode(secret.encode()) not in stored


async def test_setting_again_replaces_the_value_with_a_fresh_nonce(db: Database, keyring: Keyring) -> None:
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value='first-key', actor=None)
    [(_, first_nonce)] = [(row[1], row[3]) for row in await raw_rows(db)]
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value='second-key', actor=None)

    [row] = await raw_rows(db)
    assert row[3] != first_nonce
    got = await secrets.get_secret(db, keyring=keyring, name='llm_api_key')
    assert got is not None and got.get_secret_value() == 'second-key'


async def test_a_ciphertext_moved_to_another_name_does_not_decrypt(db: Database, keyring: Keyring) -> None:
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    await secrets.put_secret(db, keyring=keyring, name='waha_api_key', value=WAHA_KEY, actor=None)
    async with db.session() as session:
        llm = (await session.exec(select(StoredSecret).where(StoredSecret.name == 'llm_api_key'))).one()
        waha = (await session.exec(select(StoredSecret).where(StoredSecret.name == 'waha_api_key'))).one()
        waha.nonce, waha.ciphertext = llm.nonce, llm.ciphertext  # an attacker with write access to the table
        session.add(waha)
        await session.commit()

    with pytest.raises(SecretsKeyError) as caught:
        await secrets.get_secret(db, keyring=keyring, name='waha_api_key')
    assert 'waha_api_key' in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no cryptography traceback
    assert LLM_KEY not in str(caught.value)


async def test_the_wrong_key_is_a_clear_error_naming_the_key_id(db: Database, keyring: Keyring) -> None:
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    other = Keyring(current=SecretsKey.generate())

    with pytest.raises(SecretsKeyError) as caught:
        await secrets.get_secret(db, keyring=other, name='llm_api_key')
    message = str(caught.value)
    assert keyring.current.key_id in message and other.current.key_id in message
    assert 'LEADMASTER_SECRETS_KEY' in message
    assert LLM_KEY not in message and keyring.current.encoded() not in message


async def test_rotation_reseals_every_secret_and_then_the_old_key_is_not_needed(db: Database, keyring: Keyring) -> None:
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    await secrets.put_secret(db, keyring=keyring, name='waha_api_key', value=WAHA_KEY, actor=None)
    new_key = SecretsKey.generate()

    rotation = await secrets.rotate_secrets(db, old_keys=keyring, new_key=new_key, actor=None)

    assert (rotation.count, rotation.key_id) == (2, new_key.key_id)
    only_new = Keyring(current=new_key)
    assert {info.key_id for info in await secrets.list_secrets(db)} == {new_key.key_id}
    llm = await secrets.get_secret(db, keyring=only_new, name='llm_api_key')
    waha = await secrets.get_secret(db, keyring=only_new, name='waha_api_key')
    assert llm is not None and llm.get_secret_value() == LLM_KEY
    assert waha is not None and waha.get_secret_value() == WAHA_KEY
    with pytest.raises(SecretsKeyError):
        await secrets.get_secret(db, keyring=keyring, name='llm_api_key')


async def test_a_rotation_that_cannot_read_one_secret_changes_nothing(db: Database, keyring: Keyring) -> None:
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    lost = Keyring(current=SecretsKey.generate())
    await secrets.put_secret(db, keyring=lost, name='waha_api_key', value=WAHA_KEY, actor=None)
    before = await raw_rows(db)

    with pytest.raises(SecretsKeyError, match=lost.current.key_id):
        await secrets.rotate_secrets(db, old_keys=keyring, new_key=SecretsKey.generate(), actor=None)

    assert await raw_rows(db) == before
    llm = await secrets.get_secret(db, keyring=keyring, name='llm_api_key')
    assert llm is not None and llm.get_secret_value() == LLM_KEY


async def test_the_list_names_secrets_and_keys_never_values(db: Database, keyring: Keyring, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    await secrets.put_secret(db, keyring=keyring, name='waha_api_key', value=WAHA_KEY, actor=jorge)
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)

    listed = await secrets.list_secrets(db)

    assert [(info.name, info.key_id, info.set_by) for info in listed] == [
        ('llm_api_key', keyring.current.key_id, 'cli'),
        ('waha_api_key', keyring.current.key_id, 'jorge'),
    ]
    assert LLM_KEY not in repr(listed) and WAHA_KEY not in repr(listed)


async def test_only_admins_store_or_delete_and_the_audit_holds_names_only(
    db: Database, keyring: Keyring, world: World
) -> None:
    ana, jorge = await viewer_of(db, world.ana), await viewer_of(db, world.jorge)
    with pytest.raises(PermissionDenied):
        await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=ana)
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=jorge)
    with pytest.raises(PermissionDenied):
        await secrets.delete_secret(db, name='llm_api_key', actor=ana)
    await secrets.rotate_secrets(db, old_keys=keyring, new_key=SecretsKey.generate(), actor=jorge)
    await secrets.delete_secret(db, name='llm_api_key', actor=jorge)

    assert await secrets.list_secrets(db) == []
    async with db.session() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    assert [(entry.action, entry.actor_label, entry.target_id) for entry in entries] == [
        ('secret.set', 'jorge', 'llm_api_key'),
        ('secrets.rotated', 'jorge', ''),
        ('secret.deleted', 'jorge', 'llm_api_key'),
    ]
    assert entries[1].details['names'] == ['llm_api_key']
    assert all(LLM_KEY not in repr(entry) for entry in entries)
    with pytest.raises(NotFound):
        await secrets.delete_secret(db, name='llm_api_key', actor=jorge)


async def test_empty_or_malformed_input_is_refused_without_echoing_it(db: Database, keyring: Keyring) -> None:
    with pytest.raises(InvalidInput):
        await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value='   ', actor=None)
    with pytest.raises(InvalidInput):
        await secrets.put_secret(db, keyring=keyring, name='Robert; DROP', value=LLM_KEY, actor=None)
    with pytest.raises(InvalidInput) as caught:
        await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY + '\x00', actor=None)
    assert LLM_KEY not in str(caught.value)
    assert await secrets.list_secrets(db) == []


async def test_stored_secrets_fill_what_the_environment_leaves_unset_and_the_environment_wins(
    db: Database, tmp_path: Path
) -> None:
    keyring = secrets.keyring_for(settings_for(tmp_path))
    assert keyring is not None
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    await secrets.put_secret(db, keyring=keyring, name='waha_api_key', value=WAHA_KEY, actor=None)
    unset = settings_for(tmp_path, waha_base_url='http://127.0.0.1:9/gateway')
    assert unset.effective_waha_api_key is None  # computed (and cached) before the store is read

    filled = await secrets.with_stored_secrets(db, unset)

    assert filled.llm_api_key is not None and filled.llm_api_key.get_secret_value() == LLM_KEY
    assert filled.effective_waha_api_key == WAHA_KEY
    assert unset.llm_api_key is None  # a copy: the settings given are untouched
    from_env = settings_for(tmp_path, llm_api_key='env-llm-key', waha_base_url='http://127.0.0.1:9/gateway')
    chosen = await secrets.with_stored_secrets(db, from_env)
    assert chosen.llm_api_key is not None and chosen.llm_api_key.get_secret_value() == 'env-llm-key'
    assert chosen.effective_waha_api_key == WAHA_KEY


async def test_stored_secrets_without_their_key_stop_the_process_with_a_clear_reason(
    db: Database, tmp_path: Path
) -> None:
    elsewhere = secrets.keyring_for(settings_for(tmp_path / 'other-machine'))
    assert elsewhere is not None
    await secrets.put_secret(db, keyring=elsewhere, name='llm_api_key', value=LLM_KEY, actor=None)

    with pytest.raises(SecretsKeyError, match='no key to read them'):
        await secrets.with_stored_secrets(db, settings_for(tmp_path))
    assert not (tmp_path / 'var' / secrets.KEY_FILE).exists()  # reading never invents a key
    wrong = settings_for(tmp_path, secrets_key=SecretsKey.generate().encoded())
    with pytest.raises(SecretsKeyError, match=elsewhere.current.key_id):
        await secrets.with_stored_secrets(db, wrong)
    # The environment gives the value: the store is not even decrypted.
    given = settings_for(tmp_path, llm_api_key='env-llm-key')
    assert await secrets.with_stored_secrets(db, given) is given


async def test_an_old_key_in_the_environment_keeps_secrets_readable_during_a_rotation(
    db: Database, tmp_path: Path
) -> None:
    old, new = SecretsKey.generate(), SecretsKey.generate()
    await secrets.put_secret(db, keyring=Keyring(current=old), name='llm_api_key', value=LLM_KEY, actor=None)
    rotating = settings_for(tmp_path, secrets_key=new.encoded(), secrets_old_keys=[old.encoded()])
    keyring = secrets.keyring_for(rotating)
    assert keyring is not None

    assert (await secrets.with_stored_secrets(db, rotating)).llm_api_key == SecretStr(LLM_KEY)
    await secrets.rotate_secrets(db, old_keys=keyring, new_key=keyring.current, actor=None)
    after = await secrets.with_stored_secrets(db, settings_for(tmp_path, secrets_key=new.encoded()))
    assert after.llm_api_key == SecretStr(LLM_KEY)


def test_the_generated_key_is_private_kept_and_never_shown(tmp_path: Path) -> None:
    first = secrets.keyring_for(settings_for(tmp_path))
    second = secrets.keyring_for(settings_for(tmp_path))
    assert first is not None and second is not None
    path = tmp_path / 'var' / secrets.KEY_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert first.current.key_id == second.current.key_id
    assert first.current.encoded() not in repr(first) + str(first.current)


def test_a_malformed_key_setting_is_a_clear_error_that_does_not_repeat_it(tmp_path: Path) -> None:
    for bad in ('not base64 at all!', base64.b64encode(b'short').decode()):
        with pytest.raises(SecretsKeyError, match='LEADMASTER_SECRETS_KEY') as caught:
            secrets.keyring_for(settings_for(tmp_path, secrets_key=bad))
        assert bad not in str(caught.value)


def test_the_storable_names_are_the_secret_settings() -> None:
    names = secrets.secret_setting_names(Settings)
    assert {'llm_api_key', 'whatsapp_token', 'whatsapp_app_secret', 'waha_api_key', 'inventory_soap_password'} <= set(
        names
    )
    assert 'secrets_key' not in names and 'llm_model' not in names and 'inventory_soap_username' not in names


async def test_no_value_is_ever_logged(db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyring = secrets.keyring_for(settings_for(tmp_path))
    assert keyring is not None
    await secrets.put_secret(db, keyring=keyring, name='llm_api_key', value=LLM_KEY, actor=None)
    await secrets.get_secret(db, keyring=keyring, name='llm_api_key')
    await secrets.list_secrets(db)
    await secrets.with_stored_secrets(db, settings_for(tmp_path))
    await secrets.rotate_secrets(db, old_keys=keyring, new_key=SecretsKey.generate(), actor=None)
    await secrets.delete_secret(db, name='llm_api_key', actor=None)

    assert 'llm_api_key' in caplog.text  # it does say what happened
    assert LLM_KEY not in caplog.text and keyring.current.encoded() not in caplog.text
