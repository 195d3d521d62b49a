"""`leadmaster secrets …`: secret settings kept in the database, encrypted (SPEC O3; services/secrets.py).

A value is read from standard input or a hidden prompt, never from an argument (it would land in the shell's
history and in `ps`), and never printed back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from app.commands import run_job
from app.settings import Settings
from services import secrets
from services.errors import ServiceError

cli = typer.Typer(
    help='Secret settings kept in the database, encrypted (LLM key, Graph token, WAHA key, SOAP password…).',
    no_args_is_help=True,
)

STORABLE = secrets.secret_setting_names(Settings)


def _setting_name(raw: str) -> str:
    """`llm_api_key`, `LLM_API_KEY` or `LEADMASTER_LLM_API_KEY` all name the setting `llm_api_key`."""
    name = raw.strip().lower().removeprefix('leadmaster_')
    if name not in STORABLE:
        raise typer.BadParameter(f'{raw!r} is not a secret setting; one of: {", ".join(STORABLE)}')
    return name


def _keyring(settings: Settings) -> secrets.Keyring:
    try:
        keyring = secrets.keyring_for(settings, create=True)
    except ServiceError as exc:
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(2) from exc
    assert keyring is not None  # create=True always gives one
    return keyring


def _read_value(name: str) -> SecretStr:
    if sys.stdin.isatty():
        typed = typer.prompt(f'value of {name}', hide_input=True, confirmation_prompt=True, err=True)
    else:
        typed = sys.stdin.read()
    value = typed.rstrip('\r\n')  # `echo "$KEY" | leadmaster secrets set …` adds a newline that is not the key's
    if not value.strip():
        typer.secho(f'error: no value given for {name} (pipe it in, or type it at the prompt)', err=True, fg='red')
        raise typer.Exit(1)
    return SecretStr(value)


def _environment_wins(settings: Settings, name: str) -> bool:
    return getattr(settings, name) is not None


@cli.command('set')
def set_secret(
    name: Annotated[str, typer.Argument(help=f'Which setting: {", ".join(STORABLE)}')],
) -> None:
    """Store a secret setting. The value comes from standard input (`leadmaster secrets set llm_api_key < file`) or
    a hidden prompt, never the command line."""
    setting = _setting_name(name)
    value = _read_value(setting)
    settings = Settings()
    keyring = _keyring(settings)
    info = run_job(
        lambda db: secrets.put_secret(db, keyring=keyring, name=setting, value=value, actor=None), settings=settings
    )
    typer.echo(f'{setting} stored (key {info.key_id}); processes started from now on use it')
    if _environment_wins(settings, setting):
        typer.echo(f'note: LEADMASTER_{setting.upper()} is set in the environment, and wins over the stored value')


@cli.command('list')
def list_secrets() -> None:
    """One stored secret per line: name, key id, when, by whom (never the value)."""
    settings = Settings()
    stored = run_job(secrets.list_secrets, settings=settings)
    if not stored:
        typer.echo('no secrets stored')
    for info in stored:
        wins = '\t(environment wins)' if info.name in STORABLE and _environment_wins(settings, info.name) else ''
        typer.echo(f'{info.name}\t{info.key_id}\t{info.set_at:%Y-%m-%d %H:%M} UTC\t{info.set_by}{wins}')


@cli.command('delete')
def delete_secret(name: Annotated[str, typer.Argument(help='Which setting')]) -> None:
    """Forget a stored secret (the environment's value, if any, is untouched)."""
    setting = name.strip().lower().removeprefix('leadmaster_')
    run_job(lambda db: secrets.delete_secret(db, name=setting, actor=None))
    typer.echo(f'{setting} deleted; processes started from now on no longer use it')


@cli.command('rotate')
def rotate() -> None:
    """Seal every stored secret again under a new key, in one transaction. With LEADMASTER_SECRETS_KEY set, the new
    key is that one (put the previous one in LEADMASTER_SECRETS_OLD_KEYS first); else a new var/secrets_key is
    generated and the previous one kept aside for older backups."""
    settings = Settings()
    keyring = _keyring(settings)
    key_file = settings.var_dir / secrets.KEY_FILE
    if settings.secrets_key is not None:
        new_key = keyring.current
    else:
        new_key = _pending_or_new_key(settings.var_dir / secrets.PENDING_KEY_FILE)
    result = run_job(
        lambda db: secrets.rotate_secrets(db, old_keys=keyring, new_key=new_key, actor=None), settings=settings
    )
    typer.echo(f'{result.count} secrets sealed again under key {result.key_id}')
    if settings.secrets_key is not None:
        typer.echo(f'the key is LEADMASTER_SECRETS_KEY; {secrets.OLD_KEYS_SETTING} is no longer needed: remove it')
        if key_file.exists():
            retired = _retire(settings, key_file)
            key_file.unlink()
            typer.echo(f'{key_file} is no longer used: moved to {retired} for backups made before now')
        return
    retired = _retire(settings, key_file)
    os.replace(settings.var_dir / secrets.PENDING_KEY_FILE, key_file)
    typer.echo(f'the new key is in {key_file} (back it up apart from the database)')
    typer.echo(f'the previous key is in {retired}: only backups made before now need it')


def _pending_or_new_key(pending: Path) -> secrets.SecretsKey:
    """A rotation interrupted after its commit left its key here (rows may be sealed under it): finish with that one.
    Else a new key, written before anything is sealed with it."""
    if pending.exists():
        return secrets.SecretsKey.from_text(pending.read_text(), origin=str(pending))
    key = secrets.SecretsKey.generate()
    secrets.write_key_file(pending, key)
    return key


def _retire(settings: Settings, key_file: Path) -> Path:
    """Copy the key being replaced to `secrets_key.retired-<key id>` (0600): a database backup made before the
    rotation still needs it."""
    old = secrets.SecretsKey.from_text(key_file.read_text(), origin=str(key_file))
    target = settings.var_dir / f'{secrets.KEY_FILE}.retired-{old.key_id}'
    secrets.write_key_file(target, old)
    return target
