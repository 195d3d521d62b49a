"""Talking to the WAHA gateway about sessions (SPEC M6, seed 000): probing their real state, restarting failed ones
with backoff, flagging silent ones, and an admin's start / stop / restart / logout and QR.

Every state recorded here comes from the gateway's answer (or its silence: unreachable → DISCONNECTED with that
reason). A probe round asks for the whole list in one call, so 40 sessions cost one request per interval, not 40.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select

from .. import audit
from ..access import Viewer
from ..database import Database
from ..errors import Conflict, ServiceError
from ..events import EventPublisher
from ..models import Role, SessionState, WaSession, WaSessionPublic, WhatsAppNumber
from ..models.types import utcnow
from ..whatsapp.waha.client import WahaClient, WahaError, WahaUnreachable
from .service import StateChange, get_session, list_sessions, record_gateway_status
from .states import GATEWAY_UNREACHABLE, NOT_ON_GATEWAY, reason_for

log = logging.getLogger(__name__)


class GatewayUnavailable(ServiceError):
    """The WAHA gateway did not answer, or refused what we asked: shown to the admin as it is."""


@dataclass(frozen=True)
class ProbePolicy:
    """How the probes judge and heal sessions (settings `LEADMASTER_WAHA_*`, docs/channels.md)."""

    restart_base_seconds: float = 30.0
    restart_cap_seconds: float = 15 * 60.0
    # A READY session with no event for this long, in business hours, is suspicious: flagged and asked `me`.
    silence: timedelta = timedelta(minutes=30)
    business_hours: tuple[int, int] = (9, 20)  # [from, to) in the display time zone, Monday to Saturday
    timezone: str = 'America/Argentina/Buenos_Aires'
    # After this many failed restarts in a row the admins are alerted (the probes keep trying, capped).
    alert_after_failures: int = 3

    def restart_delay(self, failures: int) -> timedelta:
        seconds = self.restart_base_seconds * 2 ** max(failures - 1, 0)
        return timedelta(seconds=min(seconds, self.restart_cap_seconds))

    def in_business_hours(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        start, end = self.business_hours
        return local.weekday() < 6 and time(start) <= local.time() < time(end)


@dataclass
class ProbeRound:
    probed: int = 0
    changes: list[StateChange] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    gateway_reachable: bool = True


def _me_of(found: Any) -> tuple[str | None, str | None]:
    me = getattr(found, 'me', None)
    if me is None:
        return None, None
    return getattr(me, 'id', None), getattr(me, 'push_name', None)


class SessionControl:
    def __init__(
        self,
        db: Database,
        *,
        client: WahaClient,
        publisher: EventPublisher,
        webhook_url: str | None,
        webhook_hmac_key: str | None,
        policy: ProbePolicy | None = None,
        on_change: Callable[[list[StateChange]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.publisher = publisher
        self.webhook_url = webhook_url
        self.webhook_hmac_key = webhook_hmac_key
        self.policy = policy or ProbePolicy()
        self.on_change = on_change  # e.g. the alert check, so a session needing a QR reaches admins at once

    async def _record(
        self,
        name: str,
        gateway_status: str,
        reason: str,
        *,
        me_id: str | None = None,
        me_name: str | None = None,
        asked_at: datetime | None = None,
    ) -> StateChange | None:
        async with self.db.session() as session:
            change = await record_gateway_status(
                session,
                name=name,
                gateway_status=gateway_status,
                reason=reason,
                now=utcnow(),
                me_id=me_id,
                me_name=me_name,
                observed_at=asked_at,
            )
            await session.commit()
        if change is not None:
            await self._announce([change])
        return change

    async def _announce(self, changes: list[StateChange]) -> None:
        if not changes:
            return
        for change in changes:
            log.info('session %s: %s → %s (%s)', change.name, change.previous, change.state, change.reason)
        await self.publisher.publish([change.event() for change in changes])
        if self.on_change is not None:
            try:
                await self.on_change(changes)
            except Exception:  # the alert check runs again on its own schedule
                log.exception('after-change hook failed')

    # --- probes -------------------------------------------------------------------------------------------------

    async def probe(self, name: str) -> WaSessionPublic:
        """Ask the gateway for one session's state now and record it."""
        asked_at = utcnow()  # a webhook newer than the question wins over the answer
        try:
            found = await self.client.get_session(name)
        except WahaUnreachable as exc:
            await self._record(name, GATEWAY_UNREACHABLE, f'el gateway no responde: {exc}', asked_at=asked_at)
        except WahaError as exc:
            if exc.status_code != 404:
                raise GatewayUnavailable(f'el gateway rechazó la consulta: {exc}') from exc
            await self._record(name, NOT_ON_GATEWAY, 'el gateway no tiene esta sesión: iniciala', asked_at=asked_at)
        else:
            me_id, me_name = _me_of(found)
            await self._record(
                name, found.status, reason_for(found.status), me_id=me_id, me_name=me_name, asked_at=asked_at
            )
        async with self.db.session() as session:
            row = (await session.exec(select(WaSession).where(col(WaSession.name) == name))).first()
            if row is not None:
                row.last_probe_at = utcnow()
                session.add(row)
                await session.commit()
        return await get_session(self.db, name=name, viewer=None)

    async def probe_all(self, *, now: datetime | None = None) -> ProbeRound:
        """One round: every active session's state from one list call, silent ones flagged and asked `me`, failed
        ones restarted when their backoff is over."""
        now = now or utcnow()
        result = ProbeRound()
        sessions = await list_sessions(self.db, viewer=None)
        if not sessions:
            return result
        asked_at = utcnow()  # a webhook newer than the question wins over the answer
        try:
            on_gateway = {found.name: found for found in await self.client.list_sessions(all=True)}
        except WahaError as exc:
            result.gateway_reachable = False
            reason = f'el gateway no responde: {exc}'
            statuses: dict[str, tuple[str, str, str | None, str | None]] = {
                s.name: (GATEWAY_UNREACHABLE, reason, None, None) for s in sessions
            }
        else:
            statuses = {}
            for known in sessions:
                found = on_gateway.get(known.name)
                if found is None:
                    statuses[known.name] = (NOT_ON_GATEWAY, 'el gateway no tiene esta sesión: iniciala', None, None)
                else:
                    me_id, me_name = _me_of(found)
                    statuses[known.name] = (found.status, reason_for(found.status), me_id, me_name)
        async with self.db.session() as session:
            for name, (status, reason, me_id, me_name) in statuses.items():
                change = await record_gateway_status(
                    session,
                    name=name,
                    gateway_status=status,
                    reason=reason,
                    now=now,
                    me_id=me_id,
                    me_name=me_name,
                    observed_at=asked_at,
                )
                if change is not None:
                    result.changes.append(change)
            rows = (await session.exec(select(WaSession).where(col(WaSession.name).in_(sorted(statuses))))).all()
            for row in rows:
                row.last_probe_at = now
                session.add(row)
            await session.commit()
        result.probed = len(statuses)
        await self._announce(result.changes)
        if result.gateway_reachable:
            await self._heal(now, result)
        return result

    async def _heal(self, now: datetime, result: ProbeRound) -> None:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(WaSession)
                    .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(WaSession.number_id))
                    .where(
                        col(WhatsAppNumber.active).is_(True),
                        col(WaSession.state).in_([SessionState.FAILED, SessionState.READY]),
                    )
                )
            ).all()
        for row in rows:
            if row.state == SessionState.FAILED:
                await self._maybe_restart(row, now, result)
            elif self._is_silent(row, now):
                await self._check_silent(row, now, result)

    async def _maybe_restart(self, row: WaSession, now: datetime, result: ProbeRound) -> None:
        async with self.db.session() as session:
            fresh = await session.get(WaSession, row.id)
            if fresh is None or fresh.state != SessionState.FAILED:
                return
            if fresh.next_restart_at is None:  # just failed: wait the first delay before restarting
                fresh.next_restart_at = now + self.policy.restart_delay(fresh.failures + 1)
                session.add(fresh)
                await session.commit()
                return
            if fresh.next_restart_at > now:
                return
            # Claimed with a conditional UPDATE: with several worker processes probing, one restarts it.
            claimed = await session.exec(
                update(WaSession)
                .where(
                    col(WaSession.id) == fresh.id,
                    col(WaSession.state) == SessionState.FAILED,
                    col(WaSession.next_restart_at) == fresh.next_restart_at,
                )
                .values(
                    failures=fresh.failures + 1,
                    next_restart_at=now + self.policy.restart_delay(fresh.failures + 2),
                )
            )
            if not claimed.rowcount:
                await session.rollback()
                return
            audit.record(
                session,
                action='session.auto_restart',
                actor_label='system',
                target_type='wa_session',
                target_id=fresh.name,
                failures=fresh.failures + 1,
            )
            await session.commit()
        try:
            await self.client.restart_session(row.name)
        except WahaError as exc:
            log.warning('restart of session %s failed: %s', row.name, exc)
            return
        result.restarted.append(row.name)

    def _is_silent(self, row: WaSession, now: datetime) -> bool:
        heard = max(filter(None, [row.last_event_at, row.state_since]))
        return now - heard > self.policy.silence and self.policy.in_business_hours(now)

    async def _check_silent(self, row: WaSession, now: datetime, result: ProbeRound) -> None:
        """A READY session that has gone quiet may have lost its phone without the gateway knowing: flag it and ask
        the gateway who it is logged in as, which needs the phone's connection."""
        result.silent.append(row.name)
        async with self.db.session() as session:
            fresh = await session.get(WaSession, row.id)
            if fresh is not None and not fresh.silent:
                fresh.silent = True
                session.add(fresh)
                audit.record(
                    session,
                    action='session.silent',
                    actor_label='system',
                    target_type='wa_session',
                    target_id=row.name,
                    silent_minutes=round((now - (row.last_event_at or row.state_since)).total_seconds() / 60),
                )
                await session.commit()
        try:
            await self.client.me(row.name)
        except WahaUnreachable as exc:
            await self._record(row.name, GATEWAY_UNREACHABLE, f'el gateway no responde: {exc}')
        except WahaError as exc:
            await self._record(row.name, 'STOPPED', f'sin eventos y sin respuesta del teléfono: {exc}')

    # --- an admin's actions ----------------------------------------------------------------------------------

    async def _act(self, *, name: str, actor: Viewer | None, action: str) -> WaSessionPublic:
        if actor is not None:
            actor.require_role(Role.ADMIN)
        await get_session(self.db, name=name, viewer=actor)  # NotFound for a session the admin may not see
        try:
            if action == 'start':
                await self._start(name)
            elif action == 'stop':
                await self.client.stop_session(name)
            elif action == 'restart':
                await self.client.restart_session(name)
            elif action == 'logout':
                await self.client.logout_session(name)
        except WahaUnreachable as exc:
            await self._record(name, GATEWAY_UNREACHABLE, f'el gateway no responde: {exc}')
            raise GatewayUnavailable(f'el gateway no responde: {exc}') from exc
        except WahaError as exc:
            raise GatewayUnavailable(f'el gateway rechazó «{action}»: {exc}') from exc
        async with self.db.session() as session:
            audit.record(session, action=f'session.{action}', actor=actor, target_type='wa_session', target_id=name)
            await session.commit()
        return await self.probe(name)

    async def _start(self, name: str) -> None:
        try:
            found = await self.client.get_session(name)
        except WahaError as exc:
            if exc.status_code != 404:
                raise
            await self.client.create_session(
                name, webhook_url=self.webhook_url, webhook_hmac_key=self.webhook_hmac_key, start=True
            )
            return
        if not self._has_our_webhook(found.config):
            # The URL or the HMAC key changed since it was created: without this every webhook would be refused
            # (403) while the probes still said READY.
            await self.client.update_session(name, webhook_url=self.webhook_url, webhook_hmac_key=self.webhook_hmac_key)
        await self.client.start_session(name)

    def _has_our_webhook(self, config: dict[str, Any] | None) -> bool:
        hooks = (config or {}).get('webhooks') or []
        return any(
            isinstance(hook, dict)
            and hook.get('url') == self.webhook_url
            and ((hook.get('hmac') or {}).get('key') if isinstance(hook.get('hmac'), dict) else None)
            == self.webhook_hmac_key
            for hook in hooks
        )

    async def start(self, *, name: str, actor: Viewer | None) -> WaSessionPublic:
        """Start the session on the gateway, creating it there (with our webhook and HMAC key) if it is new."""
        return await self._act(name=name, actor=actor, action='start')

    async def stop(self, *, name: str, actor: Viewer | None) -> WaSessionPublic:
        return await self._act(name=name, actor=actor, action='stop')

    async def restart(self, *, name: str, actor: Viewer | None) -> WaSessionPublic:
        return await self._act(name=name, actor=actor, action='restart')

    async def logout(self, *, name: str, actor: Viewer | None) -> WaSessionPublic:
        """Unpair the phone: the next start asks for a QR again."""
        return await self._act(name=name, actor=actor, action='logout')

    async def qr_png(self, *, name: str, viewer: Viewer | None) -> bytes:
        """The QR to scan, as the gateway shows it now (it rotates it); Conflict unless the session needs one."""
        current = await get_session(self.db, name=name, viewer=viewer)
        if current.state != SessionState.QR_REQUIRED:
            raise Conflict(f'session {name!r} is {current.state}: there is no QR to scan')
        try:
            return await self.client.get_qr_png(name)
        except WahaUnreachable as exc:
            raise GatewayUnavailable(f'el gateway no responde: {exc}') from exc
        except WahaError as exc:
            if exc.status_code in (400, 404, 409, 422):  # the gateway moved on since our last probe
                await self.probe(name)
                raise Conflict(f'session {name!r} has no QR now: {exc}') from exc
            raise GatewayUnavailable(f'el gateway no dio el QR: {exc}') from exc


__all__ = ['GatewayUnavailable', 'ProbePolicy', 'ProbeRound', 'SessionControl']
