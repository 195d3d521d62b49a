"""WhatsApp-Web sessions through a WAHA gateway (SPEC M6, issue 14): the probes' cost and the webhook ingest, WAHA
against the Cloud API in the same run.

A fake WAHA runs as a process of its own (`python -m services.whatsapp.waha.fake_server`, WAHA's HTTP contract) with
40 paired sessions, WORKING, plus `bench`. For each database (SQLite, and PostgreSQL when it answers):

1. Probes, in THIS process, as the app's `SessionProbeSweeper` runs them: our database holds the 40 sessions as
   `waha` numbers of 8 branches; `SessionControl.probe_all()` (one `GET /api/sessions?all=true` and the state
   writes) runs a first round (all 40 INITIALIZING → READY), `--rounds` rounds where nothing changes, and
   `--change-rounds` rounds where 10 of the 40 change state (the gateway shows them SCAN_QR_CODE, then WORKING
   again, alternately). CPU per round is `time.process_time()` of this process (the gateway and PostgreSQL are
   other processes); its share of one core is CPU per round / the probe interval (`LEADMASTER_WAHA_PROBE_SECONDS`,
   30 s by default). No event bus (NullPublisher) and no alert check after a change: the app adds those.
2. Ingest: the real app (`leadmaster run`, as bench/ingest.py starts it: branch BENCH with two Cloud API numbers),
   pointed at the fake WAHA, with the session `bench` added to BENCH and made READY by a signed `session.status`
   WORKING webhook. The AI assistant is off, so both paths do the same work: journal → contact → conversation →
   message. Debian's `wrk` (32 connections) replays pre-signed bodies, each message from a new customer:
   - `--messages` WAHA `message` bodies, built with services/whatsapp/waha/payload_builders.py and serialized and
     signed (HMAC-SHA512, `X-Webhook-Hmac`) exactly as WAHA posts them;
   - the same messages as WAHA really delivers them to LeadMaster, which subscribes to `message` AND
     `message.any`: two signed bodies per customer message, the second a duplicate to ignore;
   - the same count of Cloud API single-message bodies (bench/_common.py's `signed_text`: bench/ingest.py's body
     and signature, `X-Hub-Signature-256`, but customers without its 2000-number cycle).
   Acknowledged msg/s: journaled bodies over the span from the first to the last (the journal's own clock, as
   bench/ingest.py measures). Stored msg/s: after the journal has drained, stored messages over the span from the
   first acknowledged body to the last message stored (the app's clock; wrk's idle seconds after its last body do
   not count). CPU, from the first POST until drained: per message for the app's processes, per POST for the web
   process (acknowledging; on SQLite it runs the ingest worker too), per message for the worker process
   (PostgreSQL). wrk runs each path for twice the time its warm-up's pace needs (at most `--wrk-seconds`). Each
   path is measured `--repeats` times, every other time in reverse order (W P C, C P W: a drift of the shared
   machine favours no path), and the means are shown with each run's rates.

Run: `.venv/bin/python bench/waha.py [--messages N] [--rounds 50] [--change-rounds 10] [--databases sqlite,postgresql]`
(`--messages`: 1500 on SQLite, 4000 on PostgreSQL by default; needs `wrk`: `scripts/system-deps.sh --bench`).
Ends with one JSON line: {"bench": "waha", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import ingest  # bench/ingest.py: wrk and its signed-body script, the worker process
import psutil
from _common import (
    DEFAULT_POSTGRES,
    REPO_ROOT,
    BenchDatabase,
    cpu_stall_microseconds,
    customer,
    free_port,
    load_average,
    percentile,
    print_app_log,
    rounded,
    signed_text,
    start_app,
    stop_app,
)
from sqlmodel import col, func, select

from app.database import upgrade_to_head
from app.settings import Settings
from services.branches import create_branch
from services.database import Database
from services.events import NullPublisher
from services.models import BranchCreate, DeliveryStatus, Direction, Message, SessionState, WebhookDelivery
from services.sessions.control import ProbePolicy, ProbeRound, SessionControl
from services.sessions.service import add_session, get_session
from services.whatsapp.waha import payload_builders as waha_build
from services.whatsapp.waha.client import API_KEY_HEADER, WahaClient
from services.whatsapp.waha.events import HMAC_ALGORITHM, HMAC_ALGORITHM_HEADER, HMAC_HEADER, sign_body
from services.whatsapp.waha.ids import MessageId, chat_id_for_phone

SESSIONS = 40
CHANGING = 10
PROBE_BRANCHES = 8
SESSION = 'bench'
PAIRED_PHONE = '5491150009003'  # the business's WhatsApp-Web phone behind the session `bench`
PUSH_NAME = 'Repuestos Bench'
WAHA_API_KEY = 'bench-waha-api-key'
WAHA_HMAC_KEY = 'bench-waha-hmac-key'
BENCH_DB = 'leadmaster_bench_waha'
# Enough for about 2 s of each path: the acknowledged rate is taken over that span.
DEFAULT_MESSAGES = {'sqlite': 1500, 'postgresql': 4000}
WARM_UP = 200  # messages per path before measuring: pools, caches, prepared statements
WRK_CONNECTIONS = 32
# bench/ingest.py's Lua script, with WAHA's signature headers instead of Meta's.
_META_HEADER = '["X-Hub-Signature-256"] = signatures[next_index]'
WAHA_WRK_SCRIPT = ingest.WRK_SCRIPT.replace(
    _META_HEADER, f'["{HMAC_HEADER}"] = signatures[next_index], ["{HMAC_ALGORITHM_HEADER}"] = "{HMAC_ALGORITHM}"'
)


def probe_session(index: int) -> str:
    return f'probe{index + 1:02d}'


def waha_customer(serial: int) -> str:
    """A WA-Web customer's phone, distinct per serial and from bench/ingest.py's Cloud API customers."""
    return f'54911{80000000 + serial:08d}'


def waha_raw(body: dict[str, Any]) -> bytes:
    """The bytes WAHA posts: compact JSON, UTF-8 (what the fake gateway sends too)."""
    return json.dumps(body, ensure_ascii=False, separators=(',', ':')).encode()


def waha_headers(raw: bytes) -> dict[str, str]:
    return {
        'Content-Type': 'application/json',
        HMAC_HEADER: sign_body(raw, WAHA_HMAC_KEY),
        HMAC_ALGORITHM_HEADER: HMAC_ALGORITHM,
    }


def write_waha_bodies(path: Path, *, count: int, start: int, events: tuple[str, ...] = ('message',)) -> int:
    """`count` customer messages to the session `bench`, one signed body per event in `events` (WAHA posts every
    subscribed event of a message as a body of its own); lines `signature<TAB>body` for the wrk script. Returns the
    number of bodies."""
    now = int(time.time())
    me = waha_build.me(PAIRED_PHONE, PUSH_NAME)
    with path.open('w') as out:
        for serial in range(start, start + count):
            phone = waha_customer(serial)
            chat = chat_id_for_phone(phone)
            payload = waha_build.message(
                chat_id=chat,
                body=f'Consulta {serial}: ¿tienen filtro de aceite?',
                my_id=f'{PAIRED_PHONE}@c.us',
                push_name=f'Cliente {phone[-4:]}',
                message_id=MessageId(False, chat, f'3EB0{serial:018X}').serialized,
                timestamp=now,
            )
            for event in events:
                raw = waha_raw(waha_build.envelope(event, payload, session=SESSION, me=me))
                out.write(f'{sign_body(raw, WAHA_HMAC_KEY)}\t{raw.decode()}\n')
    return count * len(events)


def write_cloud_bodies(path: Path, *, count: int, start: int) -> int:
    """`count` Cloud API bodies of one text message each, every one from a new customer; lines for the wrk script."""
    with path.open('w') as out:
        for serial in range(start, start + count):
            body, signature = signed_text(
                customer(serial), [f'Consulta {serial}: ¿tienen filtro de aceite?'], serial=serial
            )
            out.write(f'{signature}\t{body.decode()}\n')
    return count


# --- the fake gateway ---------------------------------------------------------------------------------------------


def start_fake_waha(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The fake WAHA as a process of its own (its CPU is not this process's), every session paired and WORKING."""
    port = free_port()
    sessions = [arg for index in range(SESSIONS) for arg in ('--session', probe_session(index))]
    log = work / 'fake-waha.log'
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'services.whatsapp.waha.fake_server',
            '--port',
            str(port),
            '--api-key',
            WAHA_API_KEY,
            '--paired-phone',
            PAIRED_PHONE,
            *sessions,
            '--session',
            SESSION,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open('wb'),
    )
    base = f'http://127.0.0.1:{port}'
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return process, base
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f'the fake WAHA did not start:\n{log.read_text()}')


async def set_gateway_status(client: httpx.AsyncClient, names: list[str], status: str) -> None:
    """What the phone did, told to the fake gateway (its control route, not WAHA's API)."""
    for name in names:
        response = await client.post(f'/_fake/sessions/{name}/status', json={'status': status})
        response.raise_for_status()


# --- 1. probes ----------------------------------------------------------------------------------------------------


@dataclass
class RoundTimes:
    cpu_ms: list[float]
    wall_ms: list[float]

    def figures(self, interval: float) -> dict[str, float | None]:
        mean_cpu = statistics.fmean(self.cpu_ms)
        return {
            'rounds': len(self.cpu_ms),
            'cpu_ms_mean': rounded(mean_cpu, 2),
            'cpu_ms_p50': rounded(percentile(self.cpu_ms, 50), 2),
            'cpu_ms_p95': rounded(percentile(self.cpu_ms, 95), 2),
            'wall_ms_p50': rounded(percentile(self.wall_ms, 50), 2),
            'wall_ms_p95': rounded(percentile(self.wall_ms, 95), 2),
            # of one core, at one round per interval
            'cpu_share_percent': rounded(mean_cpu / 1000 / interval * 100, 4),
        }


async def timed_round(control: SessionControl, times: RoundTimes, *, changes: int) -> ProbeRound:
    cpu, wall = time.process_time(), time.perf_counter()
    result = await control.probe_all()
    times.wall_ms.append((time.perf_counter() - wall) * 1000)
    times.cpu_ms.append((time.process_time() - cpu) * 1000)
    if result.probed != SESSIONS or len(result.changes) != changes or not result.gateway_reachable:
        raise SystemExit(
            f'probe round: {result.probed} probed, {len(result.changes)} changes (expected {SESSIONS} and {changes}), '
            f'gateway reachable {result.gateway_reachable}'
        )
    return result


async def probe_rounds(url: str, fake_base: str, options: argparse.Namespace) -> dict[str, Any]:
    """40 sessions in our database, probed against the fake gateway: first round, steady rounds, changing rounds."""
    db = Database.from_url(url)
    waha = WahaClient(base_url=fake_base, api_key=WAHA_API_KEY)
    fake = httpx.AsyncClient(base_url=fake_base, headers={API_KEY_HEADER: WAHA_API_KEY})
    try:
        await upgrade_to_head(db)
        for branch in range(PROBE_BRANCHES):
            await create_branch(db, branch_in=BranchCreate(code=f'PROBE{branch + 1}', name=f'Sucursal {branch + 1}'))
        for index in range(SESSIONS):
            await add_session(
                db,
                branch_code=f'PROBE{index % PROBE_BRANCHES + 1}',
                name=probe_session(index),
                display_phone=f'+549115001{index:04d}',
            )
        control = SessionControl(
            db,
            client=waha,
            publisher=NullPublisher(),
            webhook_url=None,
            webhook_hmac_key=WAHA_HMAC_KEY,
            policy=ProbePolicy(),
        )
        first, steady, changing = RoundTimes([], []), RoundTimes([], []), RoundTimes([], [])
        await timed_round(control, first, changes=SESSIONS)  # INITIALIZING → READY, all of them
        for _ in range(options.rounds):
            await timed_round(control, steady, changes=0)
        flipping = [probe_session(index) for index in range(0, SESSIONS, SESSIONS // CHANGING)]
        for number in range(options.change_rounds):
            await set_gateway_status(fake, flipping, 'SCAN_QR_CODE' if number % 2 == 0 else 'WORKING')
            await timed_round(control, changing, changes=CHANGING)
        if options.change_rounds % 2:  # leave every session WORKING and READY for the app's own probes
            await set_gateway_status(fake, flipping, 'WORKING')
            await control.probe_all()
    finally:
        await fake.aclose()
        await waha.aclose()
        await db.dispose()
    interval = options.interval
    return {
        'first_round': first.figures(interval),
        'steady': steady.figures(interval),
        'changing': changing.figures(interval),
    }


# --- 2. ingest ----------------------------------------------------------------------------------------------------


async def make_session_ready(db: Database, base: str) -> None:
    """Session `bench` in branch BENCH, READY because the gateway said WORKING (a signed `session.status`)."""
    await add_session(db, branch_code='BENCH', name=SESSION, display_phone=f'+{PAIRED_PHONE}')
    now_ms = int(time.time() * 1000)
    status = waha_build.session_status(SESSION, 'WORKING', statuses=[('STARTING', now_ms - 900), ('WORKING', now_ms)])
    raw = waha_raw(
        waha_build.envelope('session.status', status, session=SESSION, me=waha_build.me(PAIRED_PHONE, PUSH_NAME))
    )
    async with httpx.AsyncClient() as client:
        response = await client.post(f'{base}/webhooks/waha', content=raw, headers=waha_headers(raw))
    if response.status_code != 200:
        raise SystemExit(f'session.status webhook answered {response.status_code}: {response.text}')
    deadline = time.monotonic() + 60
    while (current := await get_session(db, name=SESSION, viewer=None)).state != SessionState.READY:
        if time.monotonic() > deadline:
            raise SystemExit(f'session {SESSION} is {current.state} 60 s after WORKING was posted')
        await asyncio.sleep(0.2)


async def journal_mark(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.max(WebhookDelivery.id)))).one() or 0


async def inbound_count(db: Database) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(Message).where(col(Message.direction) == Direction.INBOUND)
        return (await session.exec(query)).one()


async def wait_until_drained(db: Database, mark: int, *, limit_seconds: float = 300) -> None:
    """Until no body journaled after `mark` is still pending (the ingest worker has processed them all)."""
    deadline = time.monotonic() + limit_seconds
    while True:
        async with db.session() as session:
            pending = (
                await session.exec(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(col(WebhookDelivery.id) > mark, col(WebhookDelivery.status) == DeliveryStatus.PENDING)
                )
            ).one()
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f'{pending} journaled bodies still pending after {limit_seconds} s')
        await asyncio.sleep(0.2)


async def measured_spans(db: Database, mark: int, *, source: str) -> tuple[int, float, float, int]:
    """Distinct bodies journaled after `mark` from `source`; seconds from the first to the last; seconds from the first
    to the last message stored since; and how many of those bodies ended other than processed."""
    async with db.session() as session:
        journaled, first, last = (
            await session.exec(
                select(
                    # distinct: once its bodies run out, each wrk connection re-sends one (bench/ingest.py's script)
                    func.count(func.distinct(WebhookDelivery.body)),
                    func.min(WebhookDelivery.received_at),
                    func.max(WebhookDelivery.received_at),
                ).where(col(WebhookDelivery.id) > mark, col(WebhookDelivery.source) == source)
            )
        ).one()
        last_stored = (
            await session.exec(
                select(func.max(Message.created_at)).where(
                    col(Message.direction) == Direction.INBOUND, col(Message.created_at) >= first
                )
            )
        ).one()
        not_processed = (
            await session.exec(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(col(WebhookDelivery.id) > mark, col(WebhookDelivery.status) != DeliveryStatus.PROCESSED)
            )
        ).one()
    if first is None or last is None or last_stored is None:
        raise SystemExit(f'nothing journaled or stored from {source}')
    return journaled, (last - first).total_seconds(), (last_stored - first).total_seconds(), not_processed


def app_cpu_seconds(app: subprocess.Popen[bytes]) -> tuple[float, float]:
    """CPU of the web process, and of its worker process (PostgreSQL runs the workers apart; SQLite inline)."""

    def cpu(pid: int) -> float:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system

    return cpu(app.pid), sum(cpu(pid) for pid in ingest.worker_pids(app))


@dataclass(frozen=True)
class Load:
    """One wrk run: `posts` unique signed bodies in `bodies` carrying `messages` new customer messages."""

    hook: str
    script: Path
    bodies: Path
    source: str
    posts: int
    messages: int


async def run_load(db: Database, app: subprocess.Popen[bytes], load: Load, *, seconds: int) -> dict[str, Any]:
    """The load through wrk, then until the journal has drained; the figures from the journal and the messages."""
    mark = await journal_mark(db)
    stored_before = await inbound_count(db)
    web_before, workers_before = app_cpu_seconds(app)
    stall_before, wall_before = cpu_stall_microseconds(), time.perf_counter()
    result = await asyncio.to_thread(ingest.run_wrk, load.hook, load.bodies, load.script, seconds=seconds)
    if result['requests'] > load.posts + WRK_CONNECTIONS:
        raise SystemExit(f'wrk sent {result["requests"]} requests but only {load.posts} unique bodies exist')
    await wait_until_drained(db, mark)
    web_after, workers_after = app_cpu_seconds(app)
    stall = (cpu_stall_microseconds() - stall_before) / 1e6 / (time.perf_counter() - wall_before)
    stored = await inbound_count(db) - stored_before
    journaled, ack_span, store_span, not_processed = await measured_spans(db, mark, source=load.source)
    per_body = load.messages / load.posts
    web_cpu, workers_cpu = web_after - web_before, workers_after - workers_before
    return {
        'posts': load.posts,
        'journaled': journaled,
        'acknowledged_msgs_per_s': journaled * per_body / ack_span if ack_span else math.nan,
        'acknowledged_posts_per_s': journaled / ack_span if ack_span else math.nan,
        'p50_ms': result['p50_ms'],
        'p99_ms': result['p99_ms'],
        'non_2xx': result['non_2xx'],
        'every_body_sent': journaled >= load.posts,
        'stored': stored,
        'stored_msgs_per_s': stored / store_span if store_span else math.nan,
        'stored_after_s': store_span,
        'not_processed': not_processed,
        'app_cpu_ms_per_msg': (web_cpu + workers_cpu) * 1000 / stored if stored else math.nan,
        'web_cpu_ms_per_post': web_cpu * 1000 / journaled if journaled else math.nan,
        'worker_cpu_ms_per_msg': workers_cpu * 1000 / stored if stored and workers_cpu else math.nan,
        'cpu_stall_percent': stall * 100,  # the machine is shared: how often some task waited for a CPU (PSI)
    }


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One path's repeats as one row: rates, latencies and CPU averaged, problems added up; each run's
    acknowledged and stored rates kept to show the spread."""
    row: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(first, bool):
            row[key] = all(values)
        elif key in ('non_2xx', 'not_processed', 'journaled', 'stored', 'posts'):
            row[key] = sum(values)
        else:
            row[key] = statistics.fmean(values)
    row['acknowledged_msgs_per_s_runs'] = [round(run['acknowledged_msgs_per_s']) for run in runs]
    row['stored_msgs_per_s_runs'] = [round(run['stored_msgs_per_s']) for run in runs]
    return row


def wrk_seconds(posts: int, warm_posts_per_s: float, limit: int) -> int:
    """Long enough to send every body at half the warm-up's pace (wrk always runs its whole duration)."""
    if not warm_posts_per_s > 0:
        return limit
    return max(3, min(limit, math.ceil(2 * posts / warm_posts_per_s) + 1))


async def ingest_paths(
    url: str, base: str, app: subprocess.Popen[bytes], work: Path, options: argparse.Namespace, *, kind: str
) -> dict[str, dict[str, Any]]:
    """WAHA `message` bodies, WAHA `message` + `message.any` pairs, Cloud API bodies: same count, same server."""
    db = Database.from_url(url)
    try:
        await make_session_ready(db, base)
        waha_script, cloud_script = work / 'waha.lua', work / 'cloud.lua'
        waha_script.write_text(WAHA_WRK_SCRIPT)
        cloud_script.write_text(ingest.WRK_SCRIPT)
        waha_hook, cloud_hook = f'{base}/webhooks/waha', f'{base}/webhooks/whatsapp'
        count = options.messages or DEFAULT_MESSAGES[kind]
        warm = [
            Load(waha_hook, waha_script, work / 'waha_warm.txt', 'waha', WARM_UP, WARM_UP),
            Load(cloud_hook, cloud_script, work / 'cloud_warm.txt', 'cloud', WARM_UP, WARM_UP),
        ]
        write_waha_bodies(warm[0].bodies, count=WARM_UP, start=2_000_000)
        write_cloud_bodies(warm[1].bodies, count=WARM_UP, start=2_000_000)
        pace = {}  # posts/s of each path's warm-up, to give wrk enough seconds
        for load in warm:
            pace[load.source] = (await run_load(db, app, load, seconds=2))['acknowledged_posts_per_s']
        runs: dict[str, list[dict[str, Any]]] = {'waha': [], 'waha_pairs': [], 'cloud': []}
        for repeat in range(options.repeats):
            # New customers every time; every other repeat in reverse order, so a drift favours no path.
            start, files = repeat * 100_000, {path: work / f'{path}-{repeat}.txt' for path in runs}
            write_waha_bodies(files['waha'], count=count, start=start)
            pairs = write_waha_bodies(
                files['waha_pairs'], count=count, start=1_000_000 + start, events=('message', 'message.any')
            )
            write_cloud_bodies(files['cloud'], count=count, start=start)
            loads = {
                'waha': Load(waha_hook, waha_script, files['waha'], 'waha', count, count),
                'waha_pairs': Load(waha_hook, waha_script, files['waha_pairs'], 'waha', pairs, count),
                'cloud': Load(cloud_hook, cloud_script, files['cloud'], 'cloud', count, count),
            }
            for path in list(loads) if repeat % 2 == 0 else reversed(loads):
                load = loads[path]
                seconds = wrk_seconds(load.posts, pace[load.source], options.wrk_seconds)
                runs[path].append(await run_load(db, app, load, seconds=seconds))
        figures = {path: merged(path_runs) for path, path_runs in runs.items()}
    finally:
        await db.dispose()
    return figures


# --- the run ------------------------------------------------------------------------------------------------------


async def one_database(kind: str, fake_base: str, work: Path, options: argparse.Namespace) -> dict[str, Any] | None:
    home = work / kind
    home.mkdir()
    try:
        db = await BenchDatabase.create(sqlite=kind == 'sqlite', postgres=options.postgres, name=BENCH_DB, work=home)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f'{kind}: unreachable ({type(exc).__name__}: {exc}); skipped')
        return None
    try:
        probes = await probe_rounds(db.url, fake_base, options)
        app, base = start_app(db, home)
        workers = await ingest.wait_for_worker_process(app) if kind == 'postgresql' else []
        try:
            paths = await ingest_paths(db.url, base, app, home, options, kind=kind)
        except BaseException:
            print_app_log(home)
            raise
        finally:
            stop_app(app)
    finally:
        await db.drop()
    return {
        'probes': probes,
        'ingest': paths,
        'messages_per_path': options.messages or DEFAULT_MESSAGES[kind],
        'worker_process': bool(workers),
    }


def shown(value: float) -> str:
    """`-` for a figure that does not apply (no worker process on SQLite: the web process runs the workers)."""
    return '-' if math.isnan(value) else f'{value:.2f}'


def print_database(kind: str, figures: dict[str, Any], interval: float, repeats: int) -> None:
    print(f'\n== {kind} ==')
    print(f'probe rounds, {SESSIONS} sessions (one GET /api/sessions + state writes), interval {interval:g} s:')
    print(
        f'  {"round":<28}{"n":>4}{"CPU ms mean":>13}{"p50":>8}{"p95":>8}{"wall ms p50":>13}{"p95":>8}{"CPU share":>11}'
    )
    labels = {
        'first_round': f'first ({SESSIONS} → READY)',
        'steady': 'no change',
        'changing': f'{CHANGING} of {SESSIONS} change',
    }
    for key, label in labels.items():
        row = figures['probes'][key]
        print(
            f'  {label:<28}{row["rounds"]:>4}{row["cpu_ms_mean"]:>13}{row["cpu_ms_p50"]:>8}{row["cpu_ms_p95"]:>8}'
            f'{row["wall_ms_p50"]:>13}{row["wall_ms_p95"]:>8}{row["cpu_share_percent"]:>10}%'
        )
    print(
        f'ingest of {figures["messages_per_path"]} messages per path, {repeats} times (mean), wrk c={WRK_CONNECTIONS}, '
        "one new customer per message, same server (CPU: the app's processes; stall: PSI, the machine is shared):"
    )
    print(
        f'  {"path":<30}{"ack msg/s":>10}{"p50 ms":>7}{"p99 ms":>7}{"stored msg/s":>13}'
        f'{"CPU ms/msg":>11}{"web ms/post":>12}{"worker ms/msg":>14}{"stall":>7}  ack, stored msg/s of each run'
    )
    labels = {
        'waha': 'WAHA `message`',
        'waha_pairs': 'WAHA `message`+`message.any`',
        'cloud': 'Cloud API (1 msg per POST)',
    }
    for key, label in labels.items():
        row = figures['ingest'][key]
        print(
            f'  {label:<30}{row["acknowledged_msgs_per_s"]:>10,.0f}{row["p50_ms"]:>7.1f}{row["p99_ms"]:>7.1f}'
            f'{row["stored_msgs_per_s"]:>13,.0f}{row["app_cpu_ms_per_msg"]:>11.2f}{row["web_cpu_ms_per_post"]:>12.2f}'
            f'{shown(row["worker_cpu_ms_per_msg"]):>14}{row["cpu_stall_percent"]:>6.0f}%  '
            f'{row["acknowledged_msgs_per_s_runs"]}, {row["stored_msgs_per_s_runs"]}'
        )
        if row['non_2xx'] or row['not_processed'] or not row['every_body_sent']:
            print(
                f'    warning: {row["non_2xx"]} answers not 2xx, {row["not_processed"]} bodies not processed, '
                f'{row["journaled"]} of {row["posts"]} bodies journaled in all (raise --wrk-seconds if wrk ran short)'
            )
    ratio = figures['ratios']
    print(
        f'  WAHA / Cloud API: acknowledged {ratio["waha_to_cloud_acknowledged"]}, stored '
        f'{ratio["waha_to_cloud_stored"]}; as WAHA delivers (pairs): acknowledged msg/s '
        f'{ratio["pairs_to_cloud_acknowledged"]}, stored {ratio["pairs_to_cloud_stored"]}'
    )


def json_figures(figures: dict[str, Any]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return rounded(value, 2)
        return value

    ingest_rows = {path: {key: clean(value) for key, value in row.items()} for path, row in figures['ingest'].items()}
    return {
        'probes': figures['probes'],
        'ingest': ingest_rows,
        'ratios': figures['ratios'],
        'messages_per_path': figures['messages_per_path'],
        'worker_process': figures['worker_process'],
    }


def ratios(paths: dict[str, Any]) -> dict[str, float | None]:
    def ratio(path: str, key: str) -> float | None:
        return rounded(paths[path][key] / paths['cloud'][key], 2)

    return {
        'waha_to_cloud_acknowledged': ratio('waha', 'acknowledged_msgs_per_s'),
        'waha_to_cloud_stored': ratio('waha', 'stored_msgs_per_s'),
        'pairs_to_cloud_acknowledged': ratio('waha_pairs', 'acknowledged_msgs_per_s'),
        'pairs_to_cloud_stored': ratio('waha_pairs', 'stored_msgs_per_s'),
    }


async def run(options: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix='leadmaster-bench-waha-'))
    fake, fake_base = start_fake_waha(work)
    # The app under test inherits these (bench/ingest.py start_app): the fake gateway, its keys, no AI replies.
    os.environ.update(
        LEADMASTER_WAHA_BASE_URL=fake_base,
        LEADMASTER_WAHA_API_KEY=WAHA_API_KEY,
        LEADMASTER_WAHA_WEBHOOK_HMAC_KEY=WAHA_HMAC_KEY,
        LEADMASTER_ASSISTANT_ENABLED='false',
    )
    results: dict[str, Any] = {}
    try:
        for kind in options.databases:
            figures = await one_database(kind, fake_base, work, options)
            if figures is None:
                continue
            figures['ratios'] = ratios(figures['ingest'])
            print_database(kind, figures, options.interval, options.repeats)
            results[kind] = json_figures(figures)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--messages',
        type=int,
        help='customer messages per ingest path (default: 1500 on SQLite, 4000 on PostgreSQL, about 2 s of each)',
    )
    parser.add_argument(
        '--repeats', type=int, default=2, help='measure each path this many times (every other in reverse order)'
    )
    parser.add_argument('--rounds', type=int, default=50, help='probe rounds where nothing changes')
    parser.add_argument('--change-rounds', type=int, default=10, help=f'probe rounds where {CHANGING} sessions change')
    parser.add_argument(
        '--wrk-seconds', type=int, default=15, help='the most wrk may run for a path (less after a fast warm-up)'
    )
    parser.add_argument(
        '--interval',
        type=float,
        default=Settings.model_fields['waha_probe_seconds'].default,
        help='the probe interval the CPU share is of (LEADMASTER_WAHA_PROBE_SECONDS; default: its default)',
    )
    parser.add_argument('--databases', default='sqlite,postgresql', help='comma-separated: sqlite, postgresql')
    parser.add_argument('--postgres', default=DEFAULT_POSTGRES, help='SQLAlchemy URL of the PostgreSQL server')
    options = parser.parse_args()
    options.databases = [name.strip() for name in options.databases.split(',') if name.strip()]
    if unknown := set(options.databases) - {'sqlite', 'postgresql'}:
        parser.error(f'unknown databases: {", ".join(sorted(unknown))}')
    if options.messages is not None and not 0 < options.messages < 100_000:
        parser.error('--messages must be 1 to 99999')
    if options.repeats < 1:
        parser.error('--repeats must be at least 1')
    if options.rounds < 1 or options.change_rounds < 1:
        parser.error('--rounds and --change-rounds must be at least 1')
    if shutil.which('wrk') is None:
        raise SystemExit('wrk is missing: scripts/system-deps.sh --bench installs it')
    started = time.perf_counter()
    results = asyncio.run(run(options))
    if not results:
        raise SystemExit('no database was reachable')
    print(f'\nload average {load_average()}; {time.perf_counter() - started:.0f} s in all')
    print(
        json.dumps(
            {
                'bench': 'waha',
                'sessions': SESSIONS,
                'changing_sessions': CHANGING,
                'probe_interval_s': options.interval,
                'wrk_connections': WRK_CONNECTIONS,
                'load_average': load_average(),
                **results,
            }
        )
    )


if __name__ == '__main__':
    main()
