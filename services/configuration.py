"""Declarative configuration (B1, issue 15): branches, WhatsApp numbers, users, templates and per-branch settings
in one YAML file, applied by `leadmaster config apply FILE [--dry-run]`. See docs/configuration.md.

- The whole file is checked before anything changes; every problem is reported with its path in the file
  (`numbers[12].branch: unknown branch SUC9`).
- Applying is idempotent: what the database already has is left alone, and a second run changes nothing (and
  says so). The plan (the dry run's output) lists what would be created and, field by field, what would change.
- Everything is applied in ONE transaction: all or nothing.
- Rows are created by the services that own them (services/branches.py, users.py, whatsapp/templates.py); updates
  are written here. What the file leaves out is left as it is: the file never deletes anything.
- A user created without a password gets a one-time password, returned once (the command prints it); an existing
  user's password is never changed by a file.

The file's top-level `settings:` apply to every branch listed in it; a branch's own `settings:` override them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from . import audit, branch_settings, branches, users
from .database import Database
from .errors import InvalidInput, ServiceError
from .models import (
    AuthSession,
    Branch,
    BranchCreate,
    ChannelKind,
    MessageTemplate,
    Role,
    TemplateStatus,
    User,
    UserCreate,
    WhatsAppNumber,
)
from .models.types import utcnow
from .whatsapp import templates

SECTIONS = ('branches', 'settings', 'numbers', 'users', 'templates')
_BRANCH_CODE = re.compile(r'^[A-Z0-9][A-Z0-9-]{0,15}$')
_USERNAME = re.compile(r'^[a-z0-9][a-z0-9._-]{1,63}$')
_TEMPLATE_NAME = re.compile(r'^[a-z0-9_]{1,512}$')
_LANGUAGE = re.compile(r'^[a-z]{2,3}(_[A-Z]{2})?$')
CATEGORIES = ('UTILITY', 'MARKETING', 'AUTHENTICATION')
MIN_PASSWORD = 8

_BRANCH_KEYS = {'code', 'name', 'city', 'address', 'active', 'settings'}
_NUMBER_KEYS = {'phone_number_id', 'display_phone', 'branch', 'channel', 'label', 'waba_id'}
_USER_KEYS = {'username', 'full_name', 'role', 'branch', 'capacity', 'commission_rate', 'active', 'password'}
_TEMPLATE_KEYS = {'number', 'name', 'language', 'category', 'body', 'status'}


# --- the result --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    path: str  # where in the file: `numbers[12].branch`
    message: str

    def __str__(self) -> str:
        return f'{self.path}: {self.message}'


class ConfigInvalid(InvalidInput):
    """The file has problems; nothing was changed."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__('\n'.join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Step:
    """One row to create, or one row's fields to change (`changes`: field → (old, new))."""

    action: str  # 'create' or 'update'
    kind: str  # 'branch', 'number', 'user', 'template'
    key: str  # how the file names it: SUC1, a phone_number_id, a username, `pnid/name/language`
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if self.action == 'create':
            head = f'+ create {self.kind} {self.key}'
            return [head, *(f'    {name}: {_shown(new)}' for name, (_, new) in self.changes.items())]
        return [
            f'~ update {self.kind} {self.key}',
            *(f'    {name}: {_shown(old)} → {_shown(new)}' for name, (old, new) in self.changes.items()),
        ]


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged: int = 0  # entries of the file the database already matches

    @property
    def empty(self) -> bool:
        return not self.steps

    def text(self) -> str:
        if self.empty:
            return f'Nothing to change: the database already matches the file ({self.unchanged} entries).'
        lines = [line for step in self.steps for line in step.lines()]
        creates = sum(1 for step in self.steps if step.action == 'create')
        lines.append(
            f'{creates} to create, {len(self.steps) - creates} to change, {self.unchanged} already as in the file.'
        )
        return '\n'.join(lines)


@dataclass
class ApplyResult:
    plan: Plan
    applied: bool
    # Users created without a password in the file: their one-time passwords, to print ONCE.
    passwords: dict[str, str] = field(default_factory=dict)


def _shown(value: Any) -> str:
    if value is None:
        return '—'
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return ', '.join(f'{key} {"-".join(pair)}' for key, pair in value.items()) or '{}'
    return repr(value) if isinstance(value, str) else str(value)


# --- reading and checking the file --------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error: by default the second
    silently wins, and a file with two `numbers:` sections would quietly lose the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'{key!r} is given twice in the same mapping', key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_document(text: str) -> dict[str, Any]:
    """The YAML document; a syntax error, a key given twice or a document that is not a mapping is a
    `ConfigInvalid`."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f'line {mark.line + 1}, column {mark.column + 1}' if mark is not None else 'file'
        raise ConfigInvalid([ConfigProblem(where, f'not valid YAML: {getattr(exc, "problem", exc)}')]) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigInvalid([ConfigProblem('file', 'the file must be a mapping with branches, numbers, users…')])
    return document


@dataclass
class _Wanted:
    """The file, checked and converted, keyed as the database keys it."""

    branches: dict[str, dict[str, Any]] = field(default_factory=dict)  # code → fields (+ 'settings')
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # phone_number_id → fields
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # username → fields
    templates: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


class _Checker:
    def __init__(self, document: Mapping[str, Any], *, known_branches: set[str], known_numbers: set[str]) -> None:
        self.document = document
        self.problems: list[ConfigProblem] = []
        self.known_branches = known_branches
        self.known_numbers = known_numbers
        self.wanted = _Wanted()

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    def entries(self, section: str) -> list[tuple[str, dict[str, Any]]]:
        value = self.document.get(section)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(section, 'must be a list')
            return []
        found = []
        for index, entry in enumerate(value):
            path = f'{section}[{index}]'
            if not isinstance(entry, dict):
                self.problem(path, 'must be a mapping')
                continue
            found.append((path, entry))
        return found

    def text(self, path: str, entry: Mapping[str, Any], key: str, *, required: bool = False, maximum: int = 200) -> str:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(f'{path}.{key}', 'is required')
            return ''
        if isinstance(value, bool | dict | list):
            self.problem(f'{path}.{key}', 'must be text')
            return ''
        text = str(value).strip()
        if len(text) > maximum:
            self.problem(f'{path}.{key}', f'must be at most {maximum} characters')
        return text

    def flag(self, path: str, entry: Mapping[str, Any], key: str, default: bool) -> bool:
        value = entry.get(key, default)
        if not isinstance(value, bool):
            self.problem(f'{path}.{key}', 'must be true or false')
            return default
        return value

    def unknown_keys(self, path: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
        for key in entry:
            if key not in allowed:
                self.problem(f'{path}.{key}', f'unknown key (expected one of: {", ".join(sorted(allowed))})')

    def settings(self, path: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, 'must be a mapping of settings')
            return {}
        values, problems = branch_settings.parse_settings(value, prefix=f'{path}.')
        for problem in problems:
            self.problem(problem.field, problem.message)
        return values

    def check(self) -> _Wanted:
        for key in self.document:
            if key not in SECTIONS:
                self.problem(str(key), f'unknown section (expected: {", ".join(SECTIONS)})')
        shared_settings = self.settings('settings', self.document.get('settings'))
        self.check_branches(shared_settings)
        self.check_numbers()
        self.check_users()
        self.check_templates()
        return self.wanted

    def check_branches(self, shared_settings: dict[str, Any]) -> None:
        for path, entry in self.entries('branches'):
            self.unknown_keys(path, entry, _BRANCH_KEYS)
            code = self.text(path, entry, 'code', required=True, maximum=16).upper()
            if code and not _BRANCH_CODE.match(code):
                self.problem(f'{path}.code', f'{code!r} is not a branch code (letters, digits and -, at most 16)')
            elif code in self.wanted.branches:
                self.problem(f'{path}.code', f'branch {code} is listed twice')
            fields = _given(
                entry,
                required={'name': self.text(path, entry, 'name', required=True, maximum=120)},
                optional={
                    'city': self.text(path, entry, 'city', maximum=120),
                    'address': self.text(path, entry, 'address', maximum=200),
                    'active': self.flag(path, entry, 'active', True),
                },
            )
            fields['settings'] = {**shared_settings, **self.settings(f'{path}.settings', entry.get('settings'))}
            if code:
                self.wanted.branches.setdefault(code, fields)

    def branch_code(self, path: str, entry: Mapping[str, Any], *, required: bool) -> str | None:
        code = self.text(path, entry, 'branch', required=required).upper()
        if not code:
            return None
        if code not in self.wanted.branches and code not in self.known_branches:
            self.problem(f'{path}.branch', f'unknown branch {code}')
        return code

    def check_numbers(self) -> None:
        for path, entry in self.entries('numbers'):
            self.unknown_keys(path, entry, _NUMBER_KEYS)
            number_id = self.text(path, entry, 'phone_number_id', required=True, maximum=64)
            if number_id in self.wanted.numbers:
                self.problem(f'{path}.phone_number_id', f'number {number_id} is listed twice')
            display = self.text(path, entry, 'display_phone', required=True, maximum=32)
            if display:
                try:
                    display = branches.business_phone(display)
                except InvalidInput:
                    self.problem(f'{path}.display_phone', f'{display!r} is not a valid phone number')
            channel = self.text(path, entry, 'channel') or ChannelKind.CLOUD.value
            if channel not in {kind.value for kind in ChannelKind}:
                self.problem(f'{path}.channel', f'must be one of: {", ".join(kind.value for kind in ChannelKind)}')
            fields = _given(
                entry,
                required={'branch': self.branch_code(path, entry, required=True), 'display_phone': display},
                optional={
                    'channel': channel,
                    'label': self.text(path, entry, 'label', maximum=80),
                    'waba_id': self.text(path, entry, 'waba_id', maximum=64) or None,
                },
            )
            if number_id:
                self.wanted.numbers.setdefault(number_id, fields)

    def check_users(self) -> None:
        for path, entry in self.entries('users'):
            self.unknown_keys(path, entry, _USER_KEYS)
            username = self.text(path, entry, 'username', required=True, maximum=64).lower()
            if username and not _USERNAME.match(username):
                self.problem(f'{path}.username', f'{username!r} is not a username (a-z, 0-9, . _ -; 2 to 64)')
            elif username in self.wanted.users:
                self.problem(f'{path}.username', f'user {username} is listed twice')
            role = self.text(path, entry, 'role', required=True).lower()
            if role and role not in {r.value for r in Role}:
                self.problem(f'{path}.role', f'must be one of: {", ".join(r.value for r in Role)}')
            branch = self.branch_code(path, entry, required=False)
            if role in {Role.AGENT, Role.MANAGER} and branch is None:
                self.problem(f'{path}.branch', f'a {role} must belong to a branch')
            capacity = entry.get('capacity', 8)
            if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 100:
                self.problem(f'{path}.capacity', 'must be a whole number from 1 to 100')
            commission, problems = branch_settings.parse_settings(
                {'commission_rate': entry.get('commission_rate')}, prefix=f'{path}.'
            )
            for problem in problems:
                self.problem(problem.field, problem.message)
            password = entry.get('password')
            if password is not None and (not isinstance(password, str) or len(password) < MIN_PASSWORD):
                self.problem(f'{path}.password', f'must be text of at least {MIN_PASSWORD} characters')
            fields = _given(
                entry,
                required={'full_name': self.text(path, entry, 'full_name', required=True, maximum=120), 'role': role},
                optional={
                    'branch': branch,
                    'capacity': capacity,
                    'commission_rate': commission.get('commission_rate'),
                    'active': self.flag(path, entry, 'active', True),
                },
            )
            fields['password'] = password if isinstance(password, str) else None
            if username:
                self.wanted.users.setdefault(username, fields)

    def check_templates(self) -> None:
        for path, entry in self.entries('templates'):
            self.unknown_keys(path, entry, _TEMPLATE_KEYS)
            number = self.text(path, entry, 'number', required=True, maximum=64)
            if number and number not in self.wanted.numbers and number not in self.known_numbers:
                self.problem(f'{path}.number', f'unknown number {number} (a phone_number_id)')
            name = self.text(path, entry, 'name', required=True, maximum=512)
            if name and not _TEMPLATE_NAME.match(name):
                self.problem(f'{path}.name', f'{name!r}: lower case letters, digits and underscores only')
            language = self.text(path, entry, 'language') or 'es_AR'
            if not _LANGUAGE.match(language):
                self.problem(f'{path}.language', f'{language!r} is not a language code such as es_AR')
            category = (self.text(path, entry, 'category') or 'UTILITY').upper()
            if category not in CATEGORIES:
                self.problem(f'{path}.category', f'must be one of: {", ".join(CATEGORIES)}')
            status = (self.text(path, entry, 'status') or TemplateStatus.APPROVED.value).upper()
            if status not in {s.value for s in TemplateStatus}:
                self.problem(f'{path}.status', f'must be one of: {", ".join(s.value for s in TemplateStatus)}')
            body = self.text(path, entry, 'body', required=True, maximum=1024)
            try:
                templates.variable_count(body)
            except InvalidInput as exc:
                self.problem(f'{path}.body', str(exc))
            key = (number, name, language)
            if key in self.wanted.templates:
                self.problem(path, f'template {name} ({language}) of {number} is listed twice')
            elif number and name:
                self.wanted.templates[key] = _given(
                    entry, required={'body': body}, optional={'category': category, 'status': status}
                )


def _given(entry: Mapping[str, Any], *, required: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    """The fields the file sets: what it leaves out stays as the database has it (or the default, on creation)."""
    return {**required, **{name: value for name, value in optional.items() if name in entry}}


# --- one transaction over the services' own functions --------------------------------------------------------------


class _HeldSession:
    """The shared session as the services see it: their `commit()` only flushes, so their writes join the one
    transaction `apply_config` commits (or rolls back) at the end."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def commit(self) -> None:
        await self._session.flush()


class _OneTransaction(Database):
    """A `Database` whose every unit of work is the same open transaction. Why not a new parameter on the create
    functions: they are shared with the pages and the CLI, and this keeps their single-row behaviour untouched."""

    def __init__(self, db: Database, session: AsyncSession) -> None:
        self.engine = db.engine
        self._held = _HeldSession(session)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        yield self._held  # type: ignore[misc]  # duck-typed: an AsyncSession whose commit is a flush

    @asynccontextmanager
    async def autocommit_session(self) -> AsyncIterator[AsyncSession]:
        yield self._held  # type: ignore[misc]


# --- planning and applying ------------------------------------------------------------------------------------


async def _load_state(session: AsyncSession) -> tuple[dict[str, Branch], dict[str, WhatsAppNumber], dict[str, User]]:
    branch_rows = (await session.exec(select(Branch))).all()
    number_rows = (await session.exec(select(WhatsAppNumber))).all()
    user_rows = (await session.exec(select(User))).all()
    return (
        {branch.code: branch for branch in branch_rows},
        {number.phone_number_id: number for number in number_rows},
        {user.username: user for user in user_rows},
    )


def _diff(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {name: (current.get(name), value) for name, value in wanted.items() if current.get(name) != value}


async def _plan(session: AsyncSession, wanted: _Wanted) -> Plan:
    plan = Plan()
    by_code, by_number_id, by_username = await _load_state(session)
    code_of = {branch.id: code for code, branch in by_code.items()}
    for code, fields in wanted.branches.items():
        plain = {name: value for name, value in fields.items() if name != 'settings'}
        existing = by_code.get(code)
        if existing is None:
            defaults = branch_settings.current_values(Branch(code=code, name=''))
            changes = {**_diff({}, plain), **_diff(defaults, fields['settings'])}
            plan.steps.append(Step('create', 'branch', code, changes))
            continue
        current = {name: getattr(existing, name) for name in plain}
        changes = {**_diff(current, plain), **_diff(branch_settings.current_values(existing), fields['settings'])}
        _record(plan, Step('update', 'branch', code, changes))
    for number_id, fields in wanted.numbers.items():
        existing_number = by_number_id.get(number_id)
        if existing_number is None:
            plan.steps.append(Step('create', 'number', number_id, _diff({}, fields)))
            continue
        current = {
            'branch': code_of.get(existing_number.branch_id),
            'display_phone': existing_number.display_phone,
            'channel': str(existing_number.channel),
            'label': existing_number.label,
            'waba_id': existing_number.waba_id,
        }
        _record(plan, Step('update', 'number', number_id, _diff(current, fields)))
    for username, fields in wanted.users.items():
        plain = {name: value for name, value in fields.items() if name != 'password'}
        existing_user = by_username.get(username)
        if existing_user is None:
            changes = _diff({}, plain)
            changes['password'] = (None, 'given in the file' if fields['password'] else 'generated, printed once')
            plan.steps.append(Step('create', 'user', username, changes))
            continue
        current = {
            'full_name': existing_user.full_name,
            'role': str(existing_user.role),
            'branch': code_of.get(existing_user.branch_id),
            'capacity': existing_user.capacity,
            'commission_rate': existing_user.commission_rate,
            'active': existing_user.active,
        }
        _record(plan, Step('update', 'user', username, _diff(current, plain)))
    for (number_id, name, language), fields in wanted.templates.items():
        key = f'{number_id}/{name}/{language}'
        template_number = by_number_id.get(number_id)
        template = None
        if template_number is not None:
            template = (
                await session.exec(
                    select(MessageTemplate).where(
                        MessageTemplate.number_id == template_number.id,
                        MessageTemplate.name == name,
                        MessageTemplate.language == language,
                    )
                )
            ).first()
        if template is None:
            plan.steps.append(Step('create', 'template', key, _diff({}, fields)))
            continue
        current = {'category': template.category, 'status': str(template.status), 'body': template.body}
        _record(plan, Step('update', 'template', key, _diff(current, fields)))
    return plan


def _record(plan: Plan, step: Step) -> None:
    if step.changes:
        plan.steps.append(step)
    else:
        plan.unchanged += 1


async def _known(db: Database) -> tuple[set[str], set[str]]:
    async with db.autocommit_session() as session:
        codes = set((await session.exec(select(Branch.code))).all())
        number_ids = set((await session.exec(select(WhatsAppNumber.phone_number_id))).all())
    return codes, number_ids


async def check_document(db: Database, document: Mapping[str, Any]) -> _Wanted:
    known_branches, known_numbers = await _known(db)
    checker = _Checker(document, known_branches=known_branches, known_numbers=known_numbers)
    wanted = checker.check()
    if checker.problems:
        raise ConfigInvalid(checker.problems)
    return wanted


async def apply_config(db: Database, *, document: Mapping[str, Any], dry_run: bool = False) -> ApplyResult:
    """Check the whole document, then (unless `dry_run`) make the database match it in one transaction. Raises
    `ConfigInvalid` (every problem, with its path) before changing anything; a failure while applying rolls
    everything back and is raised as it came."""
    wanted = await check_document(db, document)
    async with db.session() as session:
        plan = await _plan(session, wanted)
        if dry_run or plan.empty:
            await session.rollback()
            return ApplyResult(plan=plan, applied=False)
        one = _OneTransaction(db, session)
        try:
            passwords = await _apply(one, session, wanted, plan)
            audit.record(
                session,
                action='config.applied',
                target_type='configuration',
                created=sum(1 for step in plan.steps if step.action == 'create'),
                changed=sum(1 for step in plan.steps if step.action == 'update'),
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    return ApplyResult(plan=plan, applied=True, passwords=passwords)


async def _apply(one: _OneTransaction, session: AsyncSession, wanted: _Wanted, plan: Plan) -> dict[str, str]:
    """Walk the plan in order (branches, numbers, users, templates: each may need the ones before)."""
    passwords: dict[str, str] = {}
    for step in plan.steps:
        try:
            if step.kind == 'branch':
                await _apply_branch(one, session, step, wanted.branches[step.key])
            elif step.kind == 'number':
                await _apply_number(one, session, step, wanted.numbers[step.key])
            elif step.kind == 'user':
                password = await _apply_user(one, session, step, wanted.users[step.key])
                if password is not None:
                    passwords[step.key] = password
            else:
                number_id, name, language = step.key.split('/', 2)
                await _apply_template(one, session, step, wanted.templates[(number_id, name, language)])
        except ServiceError as exc:
            raise ConfigInvalid([ConfigProblem(f'{step.kind} {step.key}', str(exc))]) from exc
    return passwords


async def _branch_by_code(session: AsyncSession, code: str) -> Branch:
    return (await session.exec(select(Branch).where(Branch.code == code))).one()


async def _apply_branch(one: Database, session: AsyncSession, step: Step, fields: dict[str, Any]) -> None:
    if step.action == 'create':
        await branches.create_branch(
            one,
            branch_in=BranchCreate(
                code=step.key, name=fields['name'], city=fields.get('city', ''), address=fields.get('address', '')
            ),
        )
    branch = await _branch_by_code(session, step.key)
    plain = {name: value for name, value in fields.items() if name not in {'settings'}}
    changed = {name: (getattr(branch, name), value) for name, value in plain.items() if getattr(branch, name) != value}
    for name, (_, value) in changed.items():
        setattr(branch, name, value)
    if changed and step.action == 'update':
        audit.record(
            session,
            action='branch.updated',
            target_type='branch',
            target_id=branch.id or '',
            code=branch.code,
            changes={name: {'old': old, 'new': new} for name, (old, new) in changed.items()},
        )
    branch_settings.apply_values(session, branch, fields['settings'], actor=None)
    session.add(branch)
    await session.flush()


async def _apply_number(one: Database, session: AsyncSession, step: Step, fields: dict[str, Any]) -> None:
    if step.action == 'create':
        number = await branches.add_number(
            one,
            branch_code=fields['branch'],
            channel=ChannelKind(fields.get('channel', ChannelKind.CLOUD)),
            phone_number_id=step.key,
            display_phone=fields['display_phone'],
            label=fields.get('label', ''),
            waba_id=fields.get('waba_id'),
        )
        return
    number = (await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == step.key))).one()
    if 'channel' in step.changes:
        raise InvalidInput(
            f'the channel of number {step.key} cannot change ({number.channel} → {fields["channel"]}): add it again '
            'under another phone_number_id'
        )
    for name, (_, value) in step.changes.items():
        if name == 'branch':
            number.branch_id = (await _branch_by_code(session, value)).id or 0
        else:
            setattr(number, name, value)
    session.add(number)
    audit.record(
        session,
        action='number.updated',
        target_type='whatsapp_number',
        target_id=number.id or '',
        changes={name: {'old': old, 'new': new} for name, (old, new) in step.changes.items()},
    )
    await session.flush()


async def _branch_id(session: AsyncSession, code: str | None) -> int | None:
    return None if code is None else (await _branch_by_code(session, code)).id


async def _apply_user(one: Database, session: AsyncSession, step: Step, fields: dict[str, Any]) -> str | None:
    branch_id = await _branch_id(session, fields.get('branch'))
    if step.action == 'create':
        generated = None if fields['password'] else secrets.token_urlsafe(9)
        await users.create_user(
            one,
            user_in=UserCreate(
                username=step.key,
                full_name=fields['full_name'],
                role=Role(fields['role']),
                branch_id=branch_id,
                capacity=fields.get('capacity', 8),
                commission_rate=fields.get('commission_rate'),
                active=fields.get('active', True),
                password=fields['password'] or generated or '',
            ),
        )
        return generated
    user = (await session.exec(select(User).where(User.username == step.key))).one()
    for name, (_, value) in step.changes.items():
        if name == 'branch':
            user.branch_id = branch_id
        else:
            setattr(user, name, value)
    session.add(user)
    if 'active' in step.changes and not fields['active']:  # present: it changed
        # Deactivated: their open sessions end now, as when an admin deactivates them on the users page.
        await session.exec(
            update(AuthSession)
            .where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
    audit.record(
        session,
        action='user.updated',
        target_type='user',
        target_id=user.id or '',
        changes={name: {'old': _shown(old), 'new': _shown(new)} for name, (old, new) in step.changes.items()},
    )
    await session.flush()
    return None


async def _apply_template(one: Database, session: AsyncSession, step: Step, fields: dict[str, Any]) -> None:
    number_id, name, language = step.key.split('/', 2)
    if step.action == 'create':
        await templates.register_template(
            one,
            phone_number_id=number_id,
            name=name,
            language=language,
            category=fields.get('category', 'UTILITY'),
            status=TemplateStatus(fields.get('status', TemplateStatus.APPROVED)),
            body=fields['body'],
        )
        return
    number = (await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == number_id))).one()
    template = (
        await session.exec(
            select(MessageTemplate).where(
                MessageTemplate.number_id == number.id,
                MessageTemplate.name == name,
                MessageTemplate.language == language,
            )
        )
    ).one()
    for field_name, (_, value) in step.changes.items():
        setattr(template, field_name, value)
    template.variable_count = templates.variable_count(template.body)
    template.updated_at = utcnow()
    session.add(template)
    audit.record(
        session,
        action='template.updated',
        target_type='message_template',
        target_id=template.id or '',
        changes=sorted(step.changes),
    )
    await session.flush()
