"""Campaign benchmark (issue 16, L4): a 10,000-recipient campaign through the send gate, against the fake Graph API
over HTTP in a process of its own (Meta's side apart, as in production).

1. A fresh database (SQLite by default, `--postgres` for PostgreSQL) with one Cloud API number, an approved template
   and 10,000 prospects: 80 % fit (validated, score ≥ 70), the rest blocked for a reason each (low score, not
   validated, opted out).
2. Enqueue: `start_campaign` — every recipient's conversation, its message (queued with its send time, or blocked)
   and its recipient row. Wall and CPU time.
3. Send: the app's own `OutboxWorker` (per-number limit 80/s) sends at the campaign's pace (`--rate`, messages per
   minute). The fake Graph records each send's arrival; the achieved rate is measured there, from the first send to
   the last, and compared with the configured one (target ± 5 %).
4. Sends to blocked contacts, counted at the fake Graph: must be 0. Every fit recipient exactly once.

Ends with one JSON line {"bench": "campaigns", ...}. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import select

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

import ingest  # noqa: E402  (bench/ingest.py: free port, PostgreSQL helpers)

from app.database import upgrade_to_head  # noqa: E402
from services.campaigns.service import Audience, Schedule, create_campaign, start_campaign  # noqa: E402
from services.database import Database  # noqa: E402
from services.events import NullPublisher  # noqa: E402
from services.media_store import MediaStore  # noqa: E402
from services.models import Branch, ChannelKind, Contact, MessageTemplate, WhatsAppNumber, table_of  # noqa: E402
from services.models.leads import ContactBranch  # noqa: E402
from services.models.types import utcnow  # noqa: E402
from services.whatsapp.fake_graph import DEFAULT_TOKEN, FakeGraph, MemoryBackend  # noqa: E402
from services.whatsapp.graph_client import GraphClient  # noqa: E402
from services.whatsapp.workers import OutboxWorker  # noqa: E402

signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

PHONE_NUMBER_ID = 'bench-campaign-pn'
TEMPLATE = 'promo_bench'
ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
DEFAULT_POSTGRES = os.environ.get('LEADMASTER_TEST_POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432/test')


# --- the fake Graph in its own process, with a counter the bench reads --------------------------------------


def serve_fake_graph(port: int) -> None:
    """`python bench/campaigns.py --serve-fake-graph PORT`: the fake Graph API, plus GET /bench/received → the
    recipient and arrival time of every send it accepted."""
    import uvicorn

    graph = FakeGraph(MemoryBackend(), token=DEFAULT_TOKEN, keep_requests=True)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] == 'http' and scope['path'] == '/bench/received':
            body = json.dumps(
                [
                    [request.json.get('to'), request.time]
                    for request in graph.requests
                    if request.method == 'POST'
                    and request.path.endswith('/messages')
                    and request.status == 200
                    and isinstance(request.json, dict)
                ]
            ).encode()
            await send(
                {'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'application/json')]}
            )
            await send({'type': 'http.response.body', 'body': body})
            return
        await graph(scope, receive, send)

    uvicorn.run(app, host='127.0.0.1', port=port, lifespan='off', log_level='warning', access_log=False)


def start_fake_graph(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = ingest.free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, '--serve-fake-graph', str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(work / 'fake-graph.log').open('wb'),
    )
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return process, f'http://127.0.0.1:{port}'
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f'fake Graph did not start:\n{(work / "fake-graph.log").read_text()}')


# --- the dataset --------------------------------------------------------------------------------------------


def kind_of(index: int) -> str:
    """80 % fit; the rest blocked, a reason each."""
    return {0: 'low_score', 1: 'not_validated', 2: 'opted_out'}.get(index % 15, 'fit')


async def build_dataset(db: Database, recipients: int) -> tuple[int, dict[str, str]]:
    """Branch, number, template and prospects; returns the branch id and phone → kind."""
    now = utcnow()
    async with db.session() as session:
        branch = Branch(code='BENCH', name='Benchmark')
        session.add(branch)
        await session.flush()
        number = WhatsAppNumber(
            branch_id=branch.id or 0,
            channel=ChannelKind.CLOUD,
            phone_number_id=PHONE_NUMBER_ID,
            display_phone='+5491150009009',
        )
        session.add(number)
        await session.flush()
        session.add(
            MessageTemplate(
                number_id=number.id or 0,
                name=TEMPLATE,
                body='Hola {{1}}, llegaron las pastillas de freno a {{2}}.',
                variable_count=2,
            )
        )
        kinds = {f'54911{30000000 + index:08d}': kind_of(index) for index in range(recipients)}
        contacts = table_of(Contact)
        rows = [
            {
                'phone_e164': f'+{phone}',
                'wa_id': phone,
                'wa_user_id': None,
                'profile_name': '',
                'display_name': f'Cliente {index}',
                'email': '',
                'notes': '',
                'merged_into_id': None,
                'score_contactabilidad': 40 if kind == 'low_score' else 70 + index % 31,
                'digital_maturity': 0,
                'validado_tecnicamente': kind != 'not_validated',
                'opted_out_at': now - timedelta(days=1) if kind == 'opted_out' else None,
                'created_at': now,
                'updated_at': now,
            }
            for index, (phone, kind) in enumerate(kinds.items())
        ]
        for start in range(0, len(rows), 1000):
            await session.exec(contacts.insert(), params=rows[start : start + 1000])
        ids = (await session.exec(select(Contact.id))).all()
        links = table_of(ContactBranch)
        link_rows = [
            {'contact_id': contact_id, 'branch_id': branch.id, 'source': 'import', 'created_at': now}
            for contact_id in ids
        ]
        for start in range(0, len(link_rows), 1000):
            await session.exec(links.insert(), params=link_rows[start : start + 1000])
        await session.commit()
        return branch.id or 0, kinds


async def send_all(
    db: Database, client: GraphClient, *, base: str, work: Path, expected: int, rate: float
) -> tuple[list[list[Any]], float, float]:
    """The app's outbox worker sends the campaign; returns what the fake Graph received, wall and CPU seconds."""
    worker = OutboxWorker(db, client=client, publisher=NullPublisher(), store=MediaStore(work / 'media'))
    cpu, wall = time.process_time(), time.perf_counter()
    worker.start()
    received: list[list[Any]] = []
    async with httpx.AsyncClient(base_url=base) as http:
        deadline = time.perf_counter() + expected / (rate / 60) * 1.5 + 60
        while time.perf_counter() < deadline:
            await asyncio.sleep(2)
            received = (await http.get('/bench/received')).json()
            print(f'  {len(received)}/{expected} sent', end='\r', flush=True)
            if len(received) >= expected:
                break
        await asyncio.sleep(3)  # anything beyond what was expected would show now
        received = (await http.get('/bench/received')).json()
    await worker.stop()
    print()
    return received, time.perf_counter() - wall, time.process_time() - cpu


def steady_rate(times: list[float], *, skip_seconds: float = 5.0) -> float:
    """Sends per minute after the first seconds (the sends due while the campaign was still being queued go out
    together when the worker starts; the pace is what follows)."""
    start = times[0] + skip_seconds
    later = [at for at in times if at >= start]
    return (len(later) - 1) / (later[-1] - later[0]) * 60 if len(later) > 1 else 0.0


# --- the run ------------------------------------------------------------------------------------------------


async def run(options: argparse.Namespace, work: Path) -> dict[str, Any]:
    if options.postgres:
        name = f'bench_campaigns_{os.getpid()}'
        url = await ingest.recreate_database(options.postgres_url, name)
    else:
        url = f'sqlite+aiosqlite:///{work / "campaigns.sqlite3"}'
    db = Database.from_url(url)
    fake, base = start_fake_graph(work)
    client = GraphClient(base_url=f'{base}/v23.0', token=DEFAULT_TOKEN, timeout=10.0)
    try:
        await upgrade_to_head(db)
        branch_id, kinds = await build_dataset(db, options.recipients)
        campaign = await create_campaign(
            db,
            viewer=None,
            name='Bench',
            phone_number_id=PHONE_NUMBER_ID,
            template_name=TEMPLATE,
            audience=Audience(branch_id=branch_id),
            schedule=Schedule(rate_per_minute=options.rate, days=tuple(range(7)), from_hour=0, to_hour=24),
        )
        cpu, wall = time.process_time(), time.perf_counter()
        outcome = await start_campaign(db, campaign_id=campaign.id or 0, publisher=NullPublisher(), zone=ZONE)
        enqueue_seconds = time.perf_counter() - wall
        enqueue_cpu = time.process_time() - cpu
        print(
            f'enqueue: {outcome.recipients} recipients ({outcome.queued} queued, {outcome.blocked} blocked) in '
            f'{enqueue_seconds:.2f} s wall, {enqueue_cpu:.2f} s CPU'
        )

        expected = sum(1 for kind in kinds.values() if kind == 'fit')
        received, send_seconds, send_cpu_seconds = await send_all(
            db, client, base=base, work=work, expected=expected, rate=options.rate
        )
    finally:
        await client.aclose()
        fake.send_signal(signal.SIGTERM)
        fake.wait(timeout=10)
        await db.dispose()
        if options.postgres:
            await ingest.drop_database(options.postgres_url, name)

    by_recipient = Counter(str(to) for to, _ in received)
    blocked_sends = sum(count for to, count in by_recipient.items() if kinds.get(to) != 'fit')
    duplicates = sum(count - 1 for count in by_recipient.values() if count > 1)
    times = sorted(at for _, at in received)
    achieved = steady_rate(times) if times else 0.0
    # Smoothness over 5-second windows (the worker looks for due messages at least once a second).
    per_window = Counter(int((at - times[0]) // 5) for at in times) if times else Counter()
    full_seconds = [per_window[window] for window in range(1, int((times[-1] - times[0]) // 5))] if times else []
    deviation = (achieved - options.rate) / options.rate * 100
    print(
        f'send: {len(received)} sends in {times[-1] - times[0] if times else 0:.1f} s at Meta: {achieved:.1f}/min '
        f'(configured {options.rate:.0f}/min, {deviation:+.2f} %), per 5 s min {min(full_seconds, default=0)} '
        f'max {max(full_seconds, default=0)}; to blocked contacts: {blocked_sends}; duplicates: {duplicates}'
    )
    return {
        'bench': 'campaigns',
        'database': 'postgresql' if options.postgres else 'sqlite',
        'recipients': outcome.recipients,
        'queued': outcome.queued,
        'blocked': outcome.blocked,
        'enqueue_seconds': round(enqueue_seconds, 3),
        'enqueue_cpu_seconds': round(enqueue_cpu, 3),
        'enqueue_per_second': round(outcome.recipients / enqueue_seconds, 1),
        'configured_rate_per_minute': options.rate,
        'achieved_rate_per_minute': round(achieved, 2),
        'rate_deviation_percent': round(deviation, 2),
        'rate_within_5_percent': abs(deviation) <= 5,
        'sends_per_5s_min_max': [min(full_seconds, default=0), max(full_seconds, default=0)],
        'sent': len(received),
        'expected_sends': expected,
        'sends_to_blocked_contacts': blocked_sends,
        'duplicate_sends': duplicates,
        'send_seconds': round(send_seconds, 1),
        'send_cpu_seconds': round(send_cpu_seconds, 2),
        'load_average': [round(value, 2) for value in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--recipients', type=int, default=10_000)
    parser.add_argument('--rate', type=float, default=3000.0, help='campaign pace, messages per minute')
    parser.add_argument('--postgres', action='store_true', help='PostgreSQL instead of SQLite')
    parser.add_argument('--postgres-url', default=DEFAULT_POSTGRES)
    parser.add_argument('--serve-fake-graph', type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_fake_graph:
        serve_fake_graph(options.serve_fake_graph)
        return
    with tempfile.TemporaryDirectory(prefix='bench-campaigns-') as directory:
        result = asyncio.run(run(options, Path(directory)))
    print(json.dumps(result))


if __name__ == '__main__':
    main()
