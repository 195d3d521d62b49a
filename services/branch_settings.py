"""Per-branch settings (B1, T2, T4, S3, A1/A2): what `/admin/settings` and `leadmaster config apply` edit.

Who may change what: an admin, any branch; a manager, their own branch only (not branches granted to them for
viewing), and not the assistant's engine nor its LLM endpoint — those cost money and hold a secret (B4 puts AI
settings with the admins). Every change is one audit entry listing each field's old → new value; the LLM key never
appears in it: it is a stored secret (services/secrets.py) named `branch_<id>_llm_api_key`, and what may be shown
of it is whether one is set.

Opening hours (`Branch.business_hours`) are a JSON object keyed by weekday — `mon tue wed thu fri sat sun` — each
holding `["HH:MM", "HH:MM"]` (open, close; close may be `24:00`). A day left out is closed; an empty object means
the hours were never set, and then `is_open` is always true (nothing that reads them can wrongly call a branch
closed). Times are the branch's local time (Argentina).

Validation reports every problem at once, each with its field, a code the pages translate (components/texts/
settings.py, `settings.error.<code>`) and an English message for the command line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
import openai
from openai import AsyncOpenAI
from pydantic import SecretStr
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from . import audit
from .access import Viewer
from .database import Database
from .errors import InvalidInput, NotFound, PermissionDenied
from .models import AssignmentRule, Branch, Role, StoredSecret
from .secrets import Keyring, delete_secret, get_secret, put_secret

DEFAULT_ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')  # datetime.weekday() order
ENGINES = ('rule', 'llm')
PROBE_TIMEOUT_SECONDS = 15.0
_TIME = re.compile(r'^([01]\d|2[0-3]):[0-5]\d$|^24:00$')

# The fields this module edits, in the order pages and diffs show them.
FIELDS = (
    'takeover_timeout_seconds',
    'assignment_rule',
    'faithful_offer_enabled',
    'faithful_offer_seconds',
    'business_hours',
    'iva_default_rate',
    'commission_rate',
    'quote_valid_days',
    'ai_sends_quotes',
    'assistant_enabled',
    'assistant_engine',
    'llm_base_url',
    'llm_model',
)
ADMIN_ONLY_FIELDS = frozenset({'assistant_engine', 'llm_base_url', 'llm_model'})


# --- validation ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One invalid value: `field` (the setting), `code` (texts key `settings.error.<code>`), its parameters."""

    field: str
    code: str
    params: Mapping[str, Any] = dataclass_field(default_factory=dict)

    @property
    def message(self) -> str:
        return _ENGLISH[self.code].format(**self.params)


_ENGLISH = {
    'unknown_field': 'unknown setting',
    'integer': 'must be a whole number',
    'range': 'must be between {minimum} and {maximum}',
    'boolean': 'must be yes or no (true/false)',
    'choice': 'must be one of: {choices}',
    'rate': 'must be a percentage between 0 and 100 with at most 2 decimals',
    'url': 'must be an http:// or https:// address',
    'text_length': 'must be at most {maximum} characters',
    'hours_day': 'unknown weekday {day} (use {days})',
    'hours_pair': '{day}: give the opening and closing time, e.g. ["09:00", "18:00"]',
    'hours_time': '{day}: {value} is not a time (HH:MM, 00:00 to 24:00)',
    'hours_order': '{day}: closes ({close}) before it opens ({open})',
}


class SettingsInvalid(InvalidInput):
    """Every problem of a settings change; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__('; '.join(f'{problem.field}: {problem.message}' for problem in problems))
        self.problems = problems


def _integer(name: str, value: Any, minimum: int, maximum: int, problems: list[Problem]) -> int | None:
    if isinstance(value, bool):
        problems.append(Problem(name, 'integer'))
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(Problem(name, 'integer'))
        return None
    if number != number.to_integral_value():
        problems.append(Problem(name, 'integer'))
        return None
    if not minimum <= number <= maximum:
        problems.append(Problem(name, 'range', {'minimum': minimum, 'maximum': maximum}))
        return None
    return int(number)


def _boolean(name: str, value: Any, problems: list[Problem]) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {'true', 'yes', 'si', 'sí', 'on', '1'}:
        return True
    if text in {'false', 'no', 'off', '0'}:
        return False
    problems.append(Problem(name, 'boolean'))
    return None


def _rate(name: str, value: Any, problems: list[Problem]) -> Decimal | None:
    if isinstance(value, bool):
        problems.append(Problem(name, 'rate'))
        return None
    try:
        rate = Decimal(str(value).strip().replace(',', '.'))
    except InvalidOperation:
        problems.append(Problem(name, 'rate'))
        return None
    if not rate.is_finite() or not 0 <= rate <= 100 or rate != rate.quantize(Decimal('0.01')):
        problems.append(Problem(name, 'rate'))
        return None
    return rate.quantize(Decimal('0.01'))


def _optional_text(name: str, value: Any, maximum: int, problems: list[Problem]) -> str | None:
    text = '' if value is None else str(value).strip()
    if len(text) > maximum:
        problems.append(Problem(name, 'text_length', {'maximum': maximum}))
        return None
    return text or None


def _choice(name: str, value: Any, choices: tuple[str, ...], problems: list[Problem]) -> str | None:
    text = str(value).strip().lower()
    if text not in choices:
        problems.append(Problem(name, 'choice', {'choices': ', '.join(choices)}))
        return None
    return text


def _url(name: str, value: Any, problems: list[Problem]) -> str | None:
    url = _optional_text(name, value, 300, problems)
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in {'http', 'https'} or not parsed.netloc:
            problems.append(Problem(name, 'url'))
            return None
    return url


def _engine(name: str, value: Any, problems: list[Problem]) -> str | None:
    if value in (None, '', 'default'):
        return None
    engine = _choice(name, value, ('default', *ENGINES), problems)
    return None if engine == 'default' else engine


def _optional(parse: Any) -> Any:
    """`parse`, except that an empty value is None (the setting falls back to its default)."""

    def parse_optional(name: str, value: Any, problems: list[Problem]) -> Any:
        return None if value in (None, '') else parse(name, value, problems)

    return parse_optional


_PARSERS: dict[str, Any] = {
    'takeover_timeout_seconds': lambda name, value, found: _integer(name, value, 30, 86_400, found),
    'assignment_rule': lambda name, value, found: _choice(
        name, value, tuple(rule.value for rule in AssignmentRule), found
    ),
    'faithful_offer_enabled': _boolean,
    'faithful_offer_seconds': _optional(lambda name, value, found: _integer(name, value, 10, 3600, found)),
    'business_hours': lambda name, value, found: parse_business_hours(value, found, name=name),
    'iva_default_rate': _rate,
    'commission_rate': _optional(_rate),
    'quote_valid_days': lambda name, value, found: _integer(name, value, 1, 365, found),
    'ai_sends_quotes': _boolean,
    'assistant_enabled': _boolean,
    'assistant_engine': _engine,
    'llm_base_url': _url,
    'llm_model': lambda name, value, found: _optional_text(name, value, 120, found),
}
assert set(_PARSERS) == set(FIELDS)


def _minutes(text: str) -> int:
    hours, minutes = text.split(':')
    return int(hours) * 60 + int(minutes)


def parse_business_hours(value: Any, problems: list[Problem], *, name: str = 'business_hours') -> dict[str, list[str]]:
    """{weekday: [open, close]}; days are `WEEKDAYS`, times HH:MM (close may be 24:00) and close after open."""
    if value in (None, ''):
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(name, 'hours_day', {'day': str(value)[:40], 'days': ', '.join(WEEKDAYS)}))
        return {}
    hours: dict[str, list[str]] = {}
    for raw_day, pair in value.items():
        day = str(raw_day).strip().lower()
        where = f'{name}.{day}'
        if day not in WEEKDAYS:
            problems.append(Problem(where, 'hours_day', {'day': day, 'days': ', '.join(WEEKDAYS)}))
            continue
        if pair in (None, '', []):
            continue  # closed that day
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            problems.append(Problem(where, 'hours_pair', {'day': day}))
            continue
        opening, closing = (str(item).strip() for item in pair)
        bad = [text for text in (opening, closing) if not _TIME.match(text)]
        if bad:
            problems.append(Problem(where, 'hours_time', {'day': day, 'value': bad[0]}))
            continue
        if _minutes(closing) <= _minutes(opening):
            problems.append(Problem(where, 'hours_order', {'day': day, 'open': opening, 'close': closing}))
            continue
        hours[day] = [opening, closing]
    return {day: hours[day] for day in WEEKDAYS if day in hours}


def parse_settings(raw: Mapping[str, Any], *, prefix: str = '') -> tuple[dict[str, Any], list[Problem]]:
    """The settings in `raw` (any subset of `FIELDS`, as typed in a form or a YAML file) checked and converted;
    every problem is listed, with `prefix` before its field (a path in a configuration file)."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name, value in raw.items():
        found: list[Problem] = []
        parse = _PARSERS.get(name)
        if parse is None:
            found.append(Problem(str(name), 'unknown_field'))  # a YAML key may be a number: `1: x`
        else:
            converted = parse(name, value, found)
        if found:
            problems.extend(Problem(prefix + problem.field, problem.code, problem.params) for problem in found)
        else:
            values[name] = converted
    return values, problems


# --- who may edit ---------------------------------------------------------------------------------------------


def require_settings_access(viewer: Viewer, branch_id: int) -> None:
    """Admins: any branch. Managers: their own branch only. Agents: none."""
    viewer.require_role(Role.MANAGER)
    if not viewer.has_role(Role.ADMIN) and viewer.branch_id != branch_id:
        raise PermissionDenied(f'{viewer.username} may only change the settings of their own branch')


def editable_branch_ids(viewer: Viewer, branch_ids: list[int]) -> list[int]:
    """Of `branch_ids`, those whose settings `viewer` may change."""
    if viewer.has_role(Role.ADMIN):
        return branch_ids
    if not viewer.has_role(Role.MANAGER):
        return []
    return [branch_id for branch_id in branch_ids if branch_id == viewer.branch_id]


# --- reading and changing -------------------------------------------------------------------------------------


def llm_key_secret_name(branch_id: int) -> str:
    return f'branch_{branch_id}_llm_api_key'


def current_values(branch: Branch) -> dict[str, Any]:
    return {name: getattr(branch, name) for name in FIELDS}


@dataclass(frozen=True)
class BranchSettingsView:
    branch_id: int
    code: str
    name: str
    values: dict[str, Any]
    llm_key_set: bool


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def shown(value: Any) -> Any:
    """A value as an audit entry or a diff shows it (JSON-friendly)."""
    if isinstance(value, Decimal):
        return str(value)
    return value


async def _branch(session: AsyncSession, branch_id: int) -> Branch:
    branch = (
        await session.exec(select(Branch).where(Branch.id == branch_id).execution_options(populate_existing=True))
    ).first()
    if branch is None:
        raise NotFound(f'no branch {branch_id}')
    return branch


async def _key_is_set(session: AsyncSession, branch_id: int) -> bool:
    name = llm_key_secret_name(branch_id)
    return (await session.exec(select(StoredSecret.id).where(StoredSecret.name == name))).first() is not None


async def get_branch_settings(db: Database, *, viewer: Viewer, branch_id: int) -> BranchSettingsView:
    require_settings_access(viewer, branch_id)
    async with db.session() as session:
        branch = await _branch(session, branch_id)
        key_set = await _key_is_set(session, branch_id)
    return BranchSettingsView(
        branch_id=branch_id, code=branch.code, name=branch.name, values=current_values(branch), llm_key_set=key_set
    )


def apply_values(
    session: AsyncSession, branch: Branch, values: Mapping[str, Any], *, actor: Viewer | None
) -> list[FieldChange]:
    """Set the checked `values` (from `parse_settings`) on `branch` in the caller's transaction, with one audit
    entry listing what changed; nothing (and no entry) when every value is what the branch has."""
    changes = [
        FieldChange(name, getattr(branch, name), value)
        for name, value in values.items()
        if getattr(branch, name) != value
    ]
    if not changes:
        return []
    for change in changes:
        setattr(branch, change.field, change.new)
    session.add(branch)
    audit.record(
        session,
        action='branch.settings',
        actor=actor,
        target_type='branch',
        target_id=branch.id or '',
        code=branch.code,
        changes={change.field: {'old': shown(change.old), 'new': shown(change.new)} for change in changes},
    )
    return changes


async def update_branch_settings(
    db: Database,
    *,
    viewer: Viewer | None,
    branch_id: int,
    raw: Mapping[str, Any],
    keyring: Keyring | None = None,
    llm_api_key: SecretStr | None = None,
    clear_llm_key: bool = False,
) -> list[FieldChange]:
    """Validate and save the settings in `raw` (any subset of `FIELDS`); `viewer` None is the command line.
    Raises `SettingsInvalid` listing every problem, before anything is written. A new LLM key (needs `keyring`)
    is stored encrypted; `clear_llm_key` deletes the stored one. Returns what changed (the key as
    `llm_api_key: set/cleared`, never its value)."""
    if viewer is not None:
        require_settings_access(viewer, branch_id)
    values, problems = parse_settings(raw)
    if problems:
        raise SettingsInvalid(problems)
    new_key = llm_api_key.get_secret_value().strip() if llm_api_key is not None else ''
    async with db.session() as session:
        branch = await _branch(session, branch_id)
        wants_admin = [name for name in ADMIN_ONLY_FIELDS & values.keys() if getattr(branch, name) != values[name]]
        if viewer is not None and not viewer.has_role(Role.ADMIN) and (wants_admin or new_key or clear_llm_key):
            raise PermissionDenied('only an admin may change the assistant engine and its LLM endpoint')
        changes = apply_values(session, branch, values, actor=viewer)
        key_was_set = await _key_is_set(session, branch_id)
        await session.commit()
    name = llm_key_secret_name(branch_id)
    if new_key:
        if keyring is None:
            raise InvalidInput('no secrets key is configured to store the LLM key')
        await put_secret(db, keyring=keyring, name=name, value=SecretStr(new_key), actor=viewer)
        changes.append(FieldChange('llm_api_key', 'set' if key_was_set else 'unset', 'set'))
    elif clear_llm_key and key_was_set:
        await delete_secret(db, name=name, actor=viewer)
        changes.append(FieldChange('llm_api_key', 'set', 'unset'))
    return changes


async def branch_llm_key(db: Database, *, keyring: Keyring, branch_id: int) -> SecretStr | None:
    return await get_secret(db, keyring=keyring, name=llm_key_secret_name(branch_id))


# --- what the settings mean -----------------------------------------------------------------------------------


def is_open(branch: Branch, at: datetime, *, zone: ZoneInfo = DEFAULT_ZONE) -> bool:
    """Whether `branch` is open at `at` (an aware datetime; naive ones are taken as UTC) by its opening hours, in
    the branch's local time. Hours never set: always open."""
    hours = branch.business_hours or {}
    if not hours:
        return True
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo('UTC'))
    local = at.astimezone(zone)
    pair = hours.get(WEEKDAYS[local.weekday()])
    if not pair:
        return False
    minute = local.hour * 60 + local.minute
    return _minutes(pair[0]) <= minute < _minutes(pair[1])


def faithful_offer_seconds(branch: Branch, *, default: int) -> int:
    """T4: how long the faithful client's agent is offered a conversation in `branch` (0: not offered)."""
    if not branch.faithful_offer_enabled:
        return 0
    return default if branch.faithful_offer_seconds is None else branch.faithful_offer_seconds


# --- the "Probar" button -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMProbe:
    ok: bool
    detail: str  # the model's answer, or why it failed (never the key)
    elapsed_ms: int


async def probe_llm(
    *, base_url: str, model: str, api_key: str, timeout_seconds: float = PROBE_TIMEOUT_SECONDS
) -> LLMProbe:
    """One small chat completion against an OpenAI-compatible endpoint, as the assistant's LLM engine would call
    it (services/assistant/llm.py): does this URL, model and key answer?"""
    started = time.monotonic()
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_seconds, max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model=model,
            messages=[{'role': 'user', 'content': 'Respondé solo con la palabra OK.'}],
            max_tokens=5,
        )
        answer = (completion.choices[0].message.content or '').strip() if completion.choices else ''
        ok, detail = True, answer[:200]
    except openai.APIStatusError as exc:
        ok, detail = False, f'HTTP {exc.status_code}: {_error_text(exc)}'
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        ok, detail = False, f'{type(exc).__name__}: {str(exc)[:200]}'
    finally:
        await client.close()
    if api_key:
        detail = detail.replace(api_key, '***')
    return LLMProbe(ok=ok, detail=detail, elapsed_ms=int((time.monotonic() - started) * 1000))


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get('error', body)
        if isinstance(inner, Mapping) and inner.get('message'):
            return str(inner['message'])[:200]
    return str(exc.message)[:200]
