"""Secrets kept in the database, encrypted at rest (SPEC O3, issue 19): the LLM key, the Graph token, the WAHA key,
the SOAP password… whatever an admin enters instead of an environment variable.

Each value is sealed with AES-256-GCM under a key that is never in the database: `LEADMASTER_SECRETS_KEY` (base64 of
32 bytes) or, unset, one generated once into `var/secrets_key` (mode 0600). A fresh 96-bit nonce per value; the
secret's name is the associated data, so a ciphertext copied onto another name does not decrypt. Each row names
its key by `key_id` (a fingerprint, never the key), which is what lets a rotation proceed row by row.

Which settings apply (`with_stored_secrets`, at process start): a value set in the environment (or `.env`) wins;
the stored one fills only a setting the environment leaves unset.

Rotation (`rotate_secrets`; `leadmaster secrets rotate` picks the keys): every row is decrypted with whichever
readable key sealed it and sealed again under the new key, in ONE transaction — all rows move or none. The readable
keys are the current one, `LEADMASTER_SECRETS_OLD_KEYS`, `var/secrets_key` when the environment names another key,
and `var/secrets_key.next` (a rotation interrupted after its commit). Once it commits the old keys are not needed.

Values never reach a log, an exception's text, an audit entry or a `repr`: they travel as `SecretStr`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import types
import typing
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, SecretStr
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from . import audit
from .access import Viewer
from .database import Database
from .errors import Conflict, InvalidInput, NotFound, ServiceError
from .models import Role, StoredSecret
from .models.types import utcnow

log = logging.getLogger('leadmaster.secrets')

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits: GCM's own size; random per value
KEY_FILE = 'secrets_key'
PENDING_KEY_FILE = 'secrets_key.next'  # written before a rotation commits, renamed to KEY_FILE after
KEY_SETTING = 'LEADMASTER_SECRETS_KEY'
OLD_KEYS_SETTING = 'LEADMASTER_SECRETS_OLD_KEYS'
MAX_VALUE_CHARACTERS = 16_384
NAME_PATTERN = re.compile(r'^[a-z][a-z0-9_]{0,63}$')
# Settings typed SecretStr that are not kept here: the store's own keys, and the demo password (read by the seed
# before any database is open, so a stored one would never apply).
NOT_STORABLE = frozenset({'secrets_key', 'demo_password'})
_AAD_PREFIX = b'leadmaster stored secret:'
_KEY_ID_CONTEXT = b'leadmaster secrets key id\x00'


class SecretsKeyError(ServiceError):
    """A key is missing, malformed or not the one a secret was sealed with. Names key ids, never keys or values."""

    code = 'secrets_key'


class SecretsKey:
    """A 256-bit key. Its `repr` and `str` show only the key id."""

    __slots__ = ('_raw', 'key_id')

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise SecretsKeyError(f'a secrets key is {KEY_BYTES} bytes, not {len(raw)}')
        self._raw = raw
        # A fingerprint that identifies the key in rows and messages; a one-way hash, so it reveals nothing of it.
        self.key_id = hashlib.sha256(_KEY_ID_CONTEXT + raw).hexdigest()[:16]

    @classmethod
    def generate(cls) -> SecretsKey:
        return cls(AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    @classmethod
    def from_text(cls, text: str, *, origin: str) -> SecretsKey:
        """Base64 (standard or URL-safe) of 32 bytes. The error names `origin`, never the text."""
        cleaned = text.strip()
        try:
            raw = base64.b64decode(
                cleaned.replace('-', '+').replace('_', '/') + '=' * (-len(cleaned) % 4), validate=True
            )
        except (binascii.Error, ValueError):
            raise SecretsKeyError(f'{origin} is not base64 (expected {KEY_BYTES} random bytes in base64)') from None
        if len(raw) != KEY_BYTES:
            raise SecretsKeyError(f'{origin} holds {len(raw)} bytes; a secrets key is {KEY_BYTES} bytes in base64')
        return cls(raw)

    def encoded(self) -> str:
        """The key as base64, to write into a file or LEADMASTER_SECRETS_KEY. Never log it."""
        return base64.b64encode(self._raw).decode()

    def seal(self, *, name: str, value: str) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return nonce, AESGCM(self._raw).encrypt(nonce, value.encode(), _AAD_PREFIX + name.encode())

    def open(self, *, name: str, nonce: bytes, ciphertext: bytes) -> str:
        try:
            return AESGCM(self._raw).decrypt(nonce, ciphertext, _AAD_PREFIX + name.encode()).decode()
        except InvalidTag:
            # `from None`: cryptography's traceback says nothing an operator can act on.
            raise SecretsKeyError(
                f'stored secret {name} does not decrypt with key {self.key_id}: it was altered, or copied from another '
                'name'
            ) from None

    def __repr__(self) -> str:
        return f'SecretsKey(key_id={self.key_id!r})'

    __str__ = __repr__


@dataclass(frozen=True)
class Keyring:
    """The key new values are sealed with, and the older keys still readable (during a rotation)."""

    current: SecretsKey
    older: tuple[SecretsKey, ...] = ()
    origin: str = KEY_SETTING  # where the current key lives, for messages

    def find(self, key_id: str) -> SecretsKey | None:
        return next((key for key in (self.current, *self.older) if key.key_id == key_id), None)

    def require(self, key_id: str, *, name: str) -> SecretsKey:
        key = self.find(key_id)
        if key is None:
            older = ', '.join(key.key_id for key in self.older) or 'none'
            raise SecretsKeyError(
                f'stored secret {name} was sealed with key {key_id}, which is not configured (current key '
                f'{self.current.key_id} from {self.origin}; older keys: {older}). Put that key in {KEY_SETTING} or '
                f'{OLD_KEYS_SETTING}, or delete the stored {name} and set it again.'
            )
        return key


class SecretsConfig(Protocol):
    """What the keys are read from (app.settings.Settings)."""

    @property
    def secrets_key(self) -> SecretStr | None: ...
    @property
    def secrets_old_keys(self) -> Sequence[SecretStr]: ...
    @property
    def var_dir(self) -> Path: ...


def keyring_for(config: SecretsConfig, *, create: bool = True) -> Keyring | None:
    """The configured keys. With no `LEADMASTER_SECRETS_KEY` the key is var/secrets_key, generated (mode 0600) when
    absent and `create`; None when absent and not `create` (nothing can have been sealed)."""
    older = [
        SecretsKey.from_text(key.get_secret_value(), origin=f'{OLD_KEYS_SETTING}[{index}]')
        for index, key in enumerate(config.secrets_old_keys)
    ]
    key_file = config.var_dir / KEY_FILE
    pending_file = config.var_dir / PENDING_KEY_FILE
    if pending_file.exists():
        older.append(SecretsKey.from_text(pending_file.read_text(), origin=str(pending_file)))
    if config.secrets_key is not None:
        current = SecretsKey.from_text(config.secrets_key.get_secret_value(), origin=KEY_SETTING)
        origin = KEY_SETTING
        if key_file.exists():  # moving from the generated key to one of the environment: still readable
            older.append(SecretsKey.from_text(key_file.read_text(), origin=str(key_file)))
    elif key_file.exists():
        current = SecretsKey.from_text(key_file.read_text(), origin=str(key_file))
        origin = str(key_file)
    elif create:
        current = SecretsKey.generate()
        write_key_file(key_file, current)
        origin = str(key_file)
    else:
        return None
    seen = {current.key_id}
    readable = []
    for key in older:
        if key.key_id not in seen:
            seen.add(key.key_id)
            readable.append(key)
    return Keyring(current=current, older=tuple(readable), origin=origin)


def write_key_file(path: Path, key: SecretsKey) -> None:
    """Mode 0600 from the first byte: the key is never readable by others, even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w') as file:
        file.write(key.encoded() + '\n')
        file.flush()
        os.fsync(file.fileno())


def secret_setting_names(settings_class: type[BaseModel]) -> tuple[str, ...]:
    """The settings that may be stored: every field typed `SecretStr | None`, less NOT_STORABLE."""
    names = []
    for name, field in settings_class.model_fields.items():
        annotation = field.annotation
        options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
        if SecretStr in options and name not in NOT_STORABLE:
            names.append(name)
    return tuple(names)


def _checked_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(f'{name!r} is not a secret name (lowercase letters, digits and _, at most 64)')
    return name


@dataclass(frozen=True)
class StoredSecretInfo:
    """What may be shown of a stored secret: never its value."""

    name: str
    key_id: str
    set_at: datetime
    set_by: str


async def put_secret(
    db: Database, *, keyring: Keyring, name: str, value: SecretStr | str, actor: Viewer | None
) -> StoredSecretInfo:
    """Store (or replace) a secret, sealed under the current key. `actor` None: the command line; else an admin."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    _checked_name(name)
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not plain.strip():
        raise InvalidInput(f'the value of {name} is empty')
    if len(plain) > MAX_VALUE_CHARACTERS:
        raise InvalidInput(f'the value of {name} is longer than {MAX_VALUE_CHARACTERS} characters')
    if '\x00' in plain:
        raise InvalidInput(f'the value of {name} contains a NUL character')
    nonce, ciphertext = keyring.current.seal(name=name, value=plain)
    set_by = actor.username if actor else 'cli'
    async with db.session() as session:
        row = (await session.exec(select(StoredSecret).where(StoredSecret.name == name).with_for_update())).first()
        if row is None:
            row = StoredSecret(name=name, key_id='', nonce=b'', ciphertext=b'', set_by=set_by)
            session.add(row)
        row.key_id = keyring.current.key_id
        row.nonce = nonce
        row.ciphertext = ciphertext
        row.set_by = set_by
        row.set_by_user_id = actor.user_id if actor else None
        row.set_at = utcnow()
        audit.record(session, action='secret.set', actor=actor, target_type='secret', target_id=name, key_id=row.key_id)
        try:
            await session.commit()
        except IntegrityError:  # the same new name stored at the same moment by someone else
            raise Conflict(f'secret {name} was being stored at the same time; try again') from None
    log.info('secret %s stored (key %s)', name, keyring.current.key_id)
    return StoredSecretInfo(name=name, key_id=row.key_id, set_at=row.set_at, set_by=set_by)


async def get_secret(db: Database, *, keyring: Keyring, name: str) -> SecretStr | None:
    """The stored value, or None when there is none. A row sealed under an unknown key is a SecretsKeyError."""
    async with db.autocommit_session() as session:
        row = (await session.exec(select(StoredSecret).where(StoredSecret.name == name))).first()
    if row is None:
        return None
    return SecretStr(keyring.require(row.key_id, name=name).open(name=name, nonce=row.nonce, ciphertext=row.ciphertext))


async def list_secrets(db: Database) -> list[StoredSecretInfo]:
    """Every stored secret by name, with its key id and who set it when. Values are not read."""
    columns = (col(StoredSecret.name), col(StoredSecret.key_id), col(StoredSecret.set_at), col(StoredSecret.set_by))
    async with db.autocommit_session() as session:
        rows = (await session.exec(select(*columns).order_by(col(StoredSecret.name)))).all()
    return [
        StoredSecretInfo(name=name, key_id=key_id, set_at=set_at, set_by=set_by)
        for name, key_id, set_at, set_by in rows
    ]


async def delete_secret(db: Database, *, name: str, actor: Viewer | None) -> None:
    if actor is not None:
        actor.require_role(Role.ADMIN)
    async with db.session() as session:
        row = (await session.exec(select(StoredSecret).where(StoredSecret.name == name))).first()
        if row is None:
            raise NotFound(f'no stored secret {name}')
        await session.delete(row)
        audit.record(session, action='secret.deleted', actor=actor, target_type='secret', target_id=name)
        await session.commit()
    log.info('secret %s deleted', name)


@dataclass(frozen=True)
class Rotation:
    count: int  # rows sealed again under the new key
    key_id: str


async def rotate_secrets(db: Database, *, old_keys: Keyring, new_key: SecretsKey, actor: Viewer | None) -> Rotation:
    """Seal every stored secret again under `new_key`, in one transaction: if any row cannot be read (its key is not
    in `old_keys`) nothing changes. Rows already under `new_key` get a fresh nonce too."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    async with db.session() as session:
        rows = (await session.exec(select(StoredSecret).order_by(col(StoredSecret.name)).with_for_update())).all()
        for row in rows:
            key = new_key if row.key_id == new_key.key_id else old_keys.require(row.key_id, name=row.name)
            value = key.open(name=row.name, nonce=row.nonce, ciphertext=row.ciphertext)
            row.nonce, row.ciphertext = new_key.seal(name=row.name, value=value)
            row.key_id = new_key.key_id
            session.add(row)
        audit.record(
            session,
            action='secrets.rotated',
            actor=actor,
            target_type='secret',
            names=[row.name for row in rows],
            key_id=new_key.key_id,
        )
        await session.commit()
    log.info('%d stored secrets sealed again under key %s', len(rows), new_key.key_id)
    return Rotation(count=len(rows), key_id=new_key.key_id)


SettingsT = TypeVar('SettingsT', bound=BaseModel)


async def with_stored_secrets(db: Database, settings: SettingsT, *, keyring: Keyring | None = None) -> SettingsT:
    """A copy of `settings` whose secret settings left unset (by the environment, `.env` or a default) are filled
    from the store. The environment wins: a setting it gives is never replaced nor even decrypted."""
    unset = [name for name in secret_setting_names(type(settings)) if getattr(settings, name) is None]
    if not unset:
        return settings
    async with db.autocommit_session() as session:
        rows = (await session.exec(select(StoredSecret).where(col(StoredSecret.name).in_(unset)))).all()
    if not rows:
        return settings
    keyring = keyring or keyring_for(typing.cast(SecretsConfig, settings), create=False)
    if keyring is None:
        raise SecretsKeyError(
            f'{len(rows)} secrets are stored but there is no key to read them: {KEY_SETTING} is unset and '
            f'{typing.cast(SecretsConfig, settings).var_dir / KEY_FILE} is missing'
        )
    values = {
        row.name: SecretStr(
            keyring.require(row.key_id, name=row.name).open(name=row.name, nonce=row.nonce, ciphertext=row.ciphertext)
        )
        for row in rows
    }
    filled = settings.model_copy(update=values)
    # `effective_*` values computed from the unfilled settings must not carry over into the copy.
    for name in _cached_properties(type(settings)):
        filled.__dict__.pop(name, None)
    log.info('settings taken from the secrets store: %s', ', '.join(sorted(values)))
    return filled


def _cached_properties(cls: type) -> Collection[str]:
    return [
        name for klass in cls.__mro__ for name, member in vars(klass).items() if isinstance(member, cached_property)
    ]
