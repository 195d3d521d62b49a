"""Inbound ingest benchmark (SPEC §4, M1): signed webhook → journal commit → 200 → stored → event, on PostgreSQL.

Starts the real app (`leadmaster run`: the web process and, on PostgreSQL, its worker process; assistant,
summaries, sales and takeover on) against a fresh PostgreSQL database, in Cloud API mode against a fake Meta
Graph API running as a process of its own (`python -m services.whatsapp.fake_graph`: it accepts the bot's replies
and posts signed `sent` and `delivered` status webhooks back, as Meta does). Load comes from Debian's `wrk` replaying
pre-signed, unique Cloud API bodies (a Python client tops out near 300–400 requests/s here and would measure
itself). Measured in the same run:

1. ceiling: raw asyncpg single-row INSERT + COMMIT with 32 connections (what one commit per message costs);
2. after a warm-up and once the app has digested it, a constant 1,000 messages/s for 20 s (open-loop asyncio
   client; `--steady-rate`): p50/p99 ack latency, and the CPU the web and worker processes spent per message;
3. single-message POSTs at concurrency 32: acknowledged messages/s, p50/p99 ack latency;
4. with `--batch`, batched POSTs (50 messages each) at concurrency 32: messages/s;
5. for each load: how long until every acknowledged message is stored (ingest keeps up or lags).

Issue 20: `--workers 1,2,3` repeats the run (a fresh database and app each) with that many worker processes
(`leadmaster run --workers N`), to compare the stored rate. The load average is recorded: the machine may be shared.

Acknowledged rates come from the journal's own timestamps (first to last acknowledged body): each wrk thread
stops when its unique bodies run out, so no body is sent twice and the rate is not diluted by idle seconds.

Run: `.venv/bin/python bench/ingest.py [--workers 1,2,3] [--seconds 15] [--steady-seconds 20] [--batch]
[--count-replies]` (needs PostgreSQL on 127.0.0.1:5432 and `wrk`; `make bench` runs it).
`--simulator` runs the app with its embedded simulator instead (the fake Graph API and status webhooks inside
the web process, as `make run` does). Ends with one JSON line: {"bench": "ingest", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from services.whatsapp import payload_builders as build  # noqa: E402
from services.whatsapp.fake_graph import DEFAULT_TOKEN as FAKE_GRAPH_TOKEN  # noqa: E402
from services.whatsapp.signatures import sign  # noqa: E402

EXTRA_ENV: dict[str, str] = {}
SECRET = 'bench-app-secret'  # noqa: S105 - signs the generated load only
NUMBERS = [('bench-pn-1', '5491150009001'), ('bench-pn-2', '5491150009002')]
CUSTOMERS = [f'54911{60000000 + index:08d}' for index in range(2000)]
WRK_SCRIPT = """
local bodies, signatures, count, next_index = {}, {}, 0, 0
function setup(thread)
  thread:set("tid", thread_counter or 0)
  thread_counter = (thread_counter or 0) + 1
end
function init(args)
  local threads = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index % threads == tid then
      local tab = line:find("\\t")
      count = count + 1
      signatures[count] = line:sub(1, tab - 1)
      bodies[count] = line:sub(tab + 1)
    end
    index = index + 1
  end
end
function request()
  if next_index >= count then
    wrk.thread:stop()  -- every body of this thread was sent once: never send one twice
  end
  next_index = next_index % count + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = signatures[next_index]}, bodies[next_index])
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)


async def recreate_database(server_url: str, name: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def raw_insert_ceiling(url: str, *, connections: int = 32, seconds: float = 5.0) -> float:
    """Rows/s of single-row INSERT + COMMIT from `connections` concurrent asyncpg connections."""
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=connections, max_size=connections)
    await pool.execute('CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial primary key, body text, at timestamptz)')
    body = json.dumps(
        build.envelope(
            phone_number_id='x',
            display_phone_number='1',
            messages=[build.text_message(from_=CUSTOMERS[0], body='hola')],
        )
    )
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal done
        async with pool.acquire() as connection:
            while time.perf_counter() < deadline:
                await connection.execute('INSERT INTO bench_ceiling (body, at) VALUES ($1, now())', body)
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await pool.execute('DROP TABLE bench_ceiling')
    await pool.close()
    return done / elapsed


def write_bodies(path: Path, *, count: int, per_body: int, start: int) -> int:
    """`count` unique signed bodies, `per_body` messages each; returns the number of messages. Stamped now, as
    Meta stamps them: an old timestamp would put every conversation outside its 24 h window and the bot would
    (rightly) stay silent, leaving out the replies and status webhooks that real traffic brings."""
    now = int(time.time())
    with path.open('w') as out:
        for index in range(count):
            number_id, display = NUMBERS[index % len(NUMBERS)]
            messages, contacts = [], {}
            for offset in range(per_body):
                serial = start + index * per_body + offset
                customer = CUSTOMERS[serial % len(CUSTOMERS)]
                contacts[customer] = build.contact(wa_id=customer, name=f'Cliente {customer[-4:]}')
                messages.append(
                    build.text_message(
                        from_=customer,
                        body=f'Consulta {serial}: ¿tienen filtro de aceite?',
                        wa_message_id=f'wamid.BENCH{serial:010d}',
                        timestamp=now,
                    )
                )
            raw = json.dumps(
                build.envelope(
                    phone_number_id=number_id,
                    display_phone_number=display,
                    contacts=list(contacts.values()),
                    messages=messages,
                ),
                ensure_ascii=False,
            )
            out.write(f'{sign(raw.encode(), SECRET)}\t{raw}\n')
    return count * per_body


def run_wrk(url: str, bodies: Path, script: Path, *, seconds: int, connections: int = 32, threads: int = 2) -> dict:
    output = subprocess.run(
        [
            'wrk',
            '-t',
            str(threads),
            '-c',
            str(connections),
            '-d',
            f'{seconds}s',
            '--latency',
            '-s',
            str(script),
            url,
            '--',
            str(bodies),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(_found(re.search(r'(\d+) requests in', output)).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r'^\s+(50|75|90|99)%\s+(\S+)', output, re.MULTILINE)}
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    return {
        'requests': requests,
        'rps': float(_found(re.search(r'Requests/sec:\s+([\d.]+)', output)).group(1)),
        'p50_ms': latency.get('50'),
        'p99_ms': latency.get('99'),
        'non_2xx': int(errors.group(1)) if errors else 0,
        'raw': output,
    }


def _ms(value: str) -> float:
    number = float(_found(re.match(r'[\d.]+', value)).group(0))
    return number * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[_found(re.search(r'[a-z]+$', value)).group(0)]


def _found(match: re.Match[str] | None) -> re.Match[str]:
    """A match wrk's output always has; a clear error if its format ever changes."""
    if match is None:
        raise ValueError('unexpected wrk output')
    return match


class _Connection:
    """One kept-alive HTTP/1.1 connection of the open-loop client."""

    # uvicorn closes a kept-alive connection after 5 s of silence; one idle that long is not reused.
    MAX_IDLE_SECONDS = 4.0

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b'\r\n', b'\n', b''):
            name, _, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value)
        await self.reader.readexactly(length)
        self.last_used = time.perf_counter()
        return status


async def constant_rate(url: str, bodies: list[tuple[str, str]], *, rate: float, seconds: float) -> dict:
    """Open loop: request i is due at start + i/rate whatever the answers, and its latency counts from when it was
    due, so a stall on either side shows in full (no coordinated omission). Requests are pre-built bytes on
    kept-alive connections: an httpx client costs ~1 ms of CPU per request here and its own queueing would be
    measured instead of the app."""
    parsed = httpx.URL(url)
    host, port, path = parsed.host, parsed.port or 80, parsed.raw_path.decode()
    requests = [
        (
            f'POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n'
            f'X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body.encode())}\r\n\r\n'
        ).encode()
        + body.encode()
        for signature, body in bodies
    ]
    idle: list[_Connection] = []
    latencies: list[float] = []
    errors: list[str] = []
    failures = 0

    async def one(request: bytes, due: float) -> None:
        nonlocal failures
        while idle and time.perf_counter() - idle[-1].last_used > _Connection.MAX_IDLE_SECONDS:
            idle.pop().writer.close()
        connection = idle.pop() if idle else _Connection(*await asyncio.open_connection(host, port))
        try:
            status = await connection.exchange(request)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            errors.append(f'{type(exc).__name__}: {exc}')  # a dropped connection is a failed delivery
            failures += 1
            connection.writer.close()
            return
        latencies.append((time.perf_counter() - due) * 1000)
        failures += status != 200
        idle.append(connection)

    tasks = []
    start = time.perf_counter() + 0.05
    for index in range(int(rate * seconds)):
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(requests[index], due)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.writer.close()
    latencies.sort()
    if errors:
        print(f'{len(errors)} requests failed in transport, e.g. {errors[0]}')
    return {
        'requests': len(latencies),
        'failures': failures,
        'p50_ms': statistics.median(latencies),
        'p99_ms': latencies[int(len(latencies) * 0.99) - 1],
    }


async def stored_count(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    count = await connection.fetchval("SELECT count(*) FROM messages WHERE direction = 'in'")
    await connection.close()
    return count


async def wait_until_stored(url: str, expected: int, *, since: float, limit_seconds: float = 300) -> float:
    """Seconds from `since` until `expected` messages are stored (ingest caught up)."""
    deadline = time.perf_counter() + limit_seconds
    while time.perf_counter() < deadline:
        if await stored_count(url) >= expected:
            return time.perf_counter() - since
        await asyncio.sleep(0.2)
    raise TimeoutError(f'only {await stored_count(url)} of {expected} messages stored after {limit_seconds} s')


def start_fake_meta(port: int, app_port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    """Meta's side of the wire, in its own process (services/whatsapp/fake_graph): accepts sends, posts statuses."""
    var_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'services.whatsapp.fake_graph',
            '--port',
            str(port),
            '--app-secret',
            SECRET,
            '--status-webhook',
            f'http://127.0.0.1:{app_port}/webhooks/whatsapp',
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(var_dir / 'fake-meta.log').open('wb'),
    )
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f'fake Meta did not start:\n{(var_dir / "fake-meta.log").read_text()}')


def cloud_api_env(fake_meta_port: int) -> dict[str, str]:
    """Cloud API mode (a token is set) against the fake Meta: what production runs, minus Meta."""
    return {
        'LEADMASTER_WHATSAPP_TOKEN': FAKE_GRAPH_TOKEN,
        'LEADMASTER_GRAPH_API_BASE': f'http://127.0.0.1:{fake_meta_port}/v23.0',
    }


def start_app(
    url: str, port: int, var_dir: Path, *, env_extra: dict[str, str] | None = None, worker_processes: int = 1
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env.update(
        LEADMASTER_WORKER_PROCESSES=str(worker_processes),
        LEADMASTER_DATABASE_URL=url,
        LEADMASTER_PORT=str(port),
        LEADMASTER_VAR_DIR=str(var_dir),
        LEADMASTER_WHATSAPP_APP_SECRET=SECRET,
        **EXTRA_ENV,
        **(env_extra or {}),
    )
    cli = [sys.executable, '-m', 'app.cli']
    for args in (
        ['branches', 'add', 'BENCH', 'Benchmark'],
        *(
            [
                'numbers',
                'add',
                '--branch',
                'BENCH',
                '--channel',
                'cloud',
                '--phone-number-id',
                pid,
                '--display',
                f'+{display}',
            ]
            for pid, display in NUMBERS
        ),
    ):
        subprocess.run([*cli, *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [*cli, 'run'], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(var_dir / 'app.log').open('wb')
    )
    for _ in range(300):
        try:
            if httpx.get(f'http://127.0.0.1:{port}/health', timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f'app did not start:\n{(var_dir / "app.log").read_text()}')


def rss_mb(pid: int) -> float:
    return int(Path(f'/proc/{pid}/status').read_text().split('VmRSS:')[1].split()[0]) / 1024


def app_rss_mb(process: subprocess.Popen[bytes]) -> float:
    return rss_mb(process.pid)


def worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The web process's children: its `leadmaster worker`, when the workers run in their own process."""
    children = Path(f'/proc/{process.pid}/task/{process.pid}/children')
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


async def wait_for_worker_process(
    process: subprocess.Popen[bytes], *, count: int = 1, seconds: float = 10
) -> list[int]:
    """On PostgreSQL the web process starts its worker processes as it starts serving."""
    deadline = time.perf_counter() + seconds
    while len(workers := worker_pids(process)) < count and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return workers


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return total / os.sysconf('SC_CLK_TCK')


class CpuMeter:
    """CPU of the web process and of its worker processes between `start` and `stop`."""

    def __init__(self, app: subprocess.Popen[bytes]) -> None:
        self.app = app
        self.workers = worker_pids(app)

    def start(self) -> None:
        self._web, self._workers = cpu_seconds([self.app.pid]), cpu_seconds(self.workers)

    def stop(self) -> tuple[float, float]:
        return cpu_seconds([self.app.pid]) - self._web, cpu_seconds(self.workers) - self._workers


async def journal_mark(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    mark = await connection.fetchval('SELECT coalesce(max(id), 0) FROM webhook_deliveries')
    await connection.close()
    return mark


async def acknowledged_since(url: str, mark: int) -> tuple[int, float]:
    """Bodies journaled after `mark` and the seconds from the first to the last (the app's own clock)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    count, seconds = await connection.fetchrow(
        'SELECT count(*), extract(epoch FROM max(received_at) - min(received_at)) FROM webhook_deliveries '
        "WHERE id > $1 AND source = 'cloud' AND body NOT LIKE '%\"statuses\"%'",
        mark,
    )
    await connection.close()
    return count, float(seconds or 0.0)


async def wait_until_quiet(url: str, *, limit_seconds: float = 600) -> float:
    """Until the app has digested what it acknowledged: no journal row pending, no reply queued or being sent,
    and nothing new stored for two seconds (the bot's replies, their statuses and the summaries follow the
    messages by a few seconds)."""
    started = time.perf_counter()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        previous, still = None, 0
        while time.perf_counter() - started < limit_seconds:
            state = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending, "
                "(SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')) AS outgoing, "
                '(SELECT count(*) FROM messages) AS stored, '
                '(SELECT count(*) FROM webhook_deliveries) AS journaled'
            )
            snapshot = tuple(state)
            still = still + 1 if snapshot == previous and state['pending'] == 0 and state['outgoing'] == 0 else 0
            if still >= 4:
                return time.perf_counter() - started
            previous = snapshot
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    raise TimeoutError(f'the app was still busy after {limit_seconds} s')


async def reply_statuses(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    rows = await connection.fetch("SELECT status, count(*) FROM messages WHERE direction = 'out' GROUP BY 1")
    await connection.close()
    return {row['status']: row['count'] for row in rows}


async def load(
    url: str,
    webhook: str,
    work: Path,
    script: Path,
    *,
    name: str,
    per_body: int,
    bodies: int,
    seconds: int,
    start: int,
    meter: CpuMeter | None = None,
) -> dict:
    """One wrk run of unique signed bodies, then the wait until every acknowledged message is stored."""
    path = work / f'{name}.txt'
    write_bodies(path, count=bodies, per_body=per_body, start=start)
    base = await stored_count(url)
    mark = await journal_mark(url)
    if meter is not None:
        meter.start()
    started = time.perf_counter()
    result = run_wrk(webhook, path, script, seconds=seconds)
    if result['requests'] > bodies:
        raise SystemExit(f'{name}: wrk sent {result["requests"]} requests but only {bodies} unique bodies exist')
    journaled, span = await acknowledged_since(url, mark)
    acknowledged = (result['requests'] - result['non_2xx']) * per_body
    drained = await wait_until_stored(url, base + acknowledged, since=started)
    stored = await stored_count(url) - base
    web_cpu, worker_cpu = meter.stop() if meter is not None else (0.0, 0.0)
    posts_per_s = journaled / span if span else 0.0
    return {
        'web_cpu_ms_per_msg': round(web_cpu * 1000 / stored, 3) if stored else None,
        'worker_cpu_ms_per_msg': round(worker_cpu * 1000 / stored, 3) if stored else None,
        'msgs_per_s': posts_per_s * per_body,
        'posts_per_s': posts_per_s,
        'p50_ms': result['p50_ms'],
        'p99_ms': result['p99_ms'],
        'non_2xx': result['non_2xx'],
        'exhausted': result['requests'] >= bodies - 64,
        'stored': stored,
        'stored_per_s': stored / drained,
        'drained_after_s': drained,
    }


async def settle(url: str, *, limit_seconds: float = 300) -> None:
    """Between phases: until the app has digested the last one, or a note that it had not (a busy, shared machine
    may leave the bot's last replies waiting on a retry); the next phase then measures with that work beside it."""
    try:
        print(f'settled after {await wait_until_quiet(url, limit_seconds=limit_seconds):.1f} s')
    except TimeoutError as exc:
        print(f'not settled: {exc}; going on')


async def run_loads(
    url: str, webhook: str, work: Path, script: Path, options: argparse.Namespace, *, meter: CpuMeter
) -> tuple[dict, dict, dict | None]:
    # Warm-up: pools, caches and the first contacts/conversations; then let the app digest it (the bot's
    # replies and their statuses follow for a few seconds), so the steady phase measures its rate alone.
    await load(url, webhook, work, script, name='warm', per_body=1, bodies=5000, seconds=3, start=10_000_000)
    await settle(url)
    rate = options.steady_rate
    steady_file = work / 'steady.txt'
    write_bodies(steady_file, count=rate * options.steady_seconds, per_body=1, start=9_000_000)
    bodies = [
        (signature, body) for signature, body in (line.split('\t', 1) for line in steady_file.read_text().splitlines())
    ]
    base = await stored_count(url)
    meter.start()
    steady = await constant_rate(webhook, bodies, rate=rate, seconds=options.steady_seconds)
    await wait_until_stored(url, base + steady['requests'] - steady['failures'], since=time.perf_counter())
    web_cpu, worker_cpu = meter.stop()
    stored = await stored_count(url) - base
    steady['web_cpu_ms_per_msg'] = round(web_cpu * 1000 / stored, 3) if stored else None
    steady['worker_cpu_ms_per_msg'] = round(worker_cpu * 1000 / stored, 3) if stored else None
    steady['load_average'] = ' '.join(f'{value:.2f}' for value in os.getloadavg())
    print(
        f'constant {rate} msg/s for {options.steady_seconds} s: p50 {steady["p50_ms"]:.1f} ms, '
        f'p99 {steady["p99_ms"]:.1f} ms, failures {steady["failures"]}; CPU per message: web '
        f'{steady["web_cpu_ms_per_msg"]} ms, workers {steady["worker_cpu_ms_per_msg"]} ms (bot replies included); '
        f'load average {steady["load_average"]}'
    )
    await settle(url)
    single = await load(
        url,
        webhook,
        work,
        script,
        name='single',
        per_body=1,
        bodies=options.seconds * 8000,
        seconds=options.seconds,
        start=0,
        meter=meter,
    )
    single['load_average'] = ' '.join(f'{value:.2f}' for value in os.getloadavg())
    print(
        f'single-message POSTs, c=32: {single["msgs_per_s"]:,.0f} msg/s acknowledged, '
        f'p50 {single["p50_ms"]:.1f} ms, p99 {single["p99_ms"]:.1f} ms, non-2xx {single["non_2xx"]}'
        f'{" (every body sent)" if single["exhausted"] else ""}; {single["stored"]:,} stored after '
        f'{single["drained_after_s"]:.1f} s ({single["stored_per_s"]:,.0f} msg/s end to end); CPU per message: web '
        f'{single["web_cpu_ms_per_msg"]} ms, workers {single["worker_cpu_ms_per_msg"]} ms; '
        f'load average {single["load_average"]}'
    )
    batch = None
    if options.batch:
        await settle(url)
        batch = await load(
            url, webhook, work, script, name='batch', per_body=50, bodies=6000, seconds=options.seconds, start=5_000_000
        )
        print(
            f'batched POSTs (50 msgs each), c=32: {batch["msgs_per_s"]:,.0f} msg/s acknowledged '
            f'({batch["posts_per_s"]:,.0f} POST/s, p99 {batch["p99_ms"]:.1f} ms)'
            f'{" (every body sent)" if batch["exhausted"] else ""}; {batch["stored"]:,} stored after '
            f'{batch["drained_after_s"]:.1f} s ({batch["stored_per_s"]:,.0f} msg/s end to end)'
        )
    if options.count_replies:
        # Only to count the bot's replies: it answers the thousands of conversations the loads opened, four at a
        # time, until their last message is older than its 10 minutes; the figures above are final either way.
        try:
            await wait_until_quiet(url, limit_seconds=900)
        except TimeoutError:
            print('the assistant was still answering after 15 min; its replies are counted as they are')
    return steady, single, batch


async def one_run(options: argparse.Namespace, *, worker_processes: int) -> dict:
    """A fresh database and app with `worker_processes` worker processes, and every load against it."""
    url = await recreate_database(options.postgres, 'leadmaster_bench')
    work = Path(tempfile.mkdtemp(prefix='leadmaster-bench-'))
    script = work / 'signed.lua'
    script.write_text(WRK_SCRIPT)
    port = free_port()
    fake_meta = None
    env_extra: dict[str, str] = {}
    if not options.simulator:
        fake_port = free_port()
        fake_meta = start_fake_meta(fake_port, port, work / 'var')
        env_extra = cloud_api_env(fake_port)
    try:
        process = start_app(url, port, work / 'var', env_extra=env_extra, worker_processes=worker_processes)
    except BaseException:
        if fake_meta is not None:  # the app never started: Meta must not outlive the run
            fake_meta.kill()
        raise
    webhook = f'http://127.0.0.1:{port}/webhooks/whatsapp'
    workers = await wait_for_worker_process(process, count=worker_processes, seconds=30)
    print(
        f'--- {worker_processes} worker process(es) --- app: web process {process.pid}, worker processes '
        f'{workers or "none (workers inline)"}; Meta: '
        f'{"the embedded simulator" if options.simulator else "fake Graph API process"}'
    )
    try:
        steady, single, batch = await run_loads(url, webhook, work, script, options, meter=CpuMeter(process))
        replies = await reply_statuses(url)
        print(f'bot replies by status: {replies}')
        rss = app_rss_mb(process)
        workers_rss = sum(rss_mb(pid) for pid in worker_pids(process))
    except BaseException:
        log = work / 'var' / 'app.log'
        if log.exists():  # the app's own account of what went wrong, before the work directory goes
            print('--- app log (last 40 lines) ---', *log.read_text(errors='replace').splitlines()[-40:], sep='\n')
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if fake_meta is not None:
            fake_meta.terminate()
            fake_meta.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
        await drop_database(options.postgres, 'leadmaster_bench')
    return {
        'worker_processes': len(workers),
        'steady': steady,
        'single': single,
        'batch': batch,
        'bot_replies': replies,
        'app_rss_mb': round(rss),
        'worker_rss_mb': round(workers_rss),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--postgres',
        default=os.environ.get('LEADMASTER_TEST_POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432/test'),
    )
    parser.add_argument('--seconds', type=int, default=15, help='length of the wrk loads')
    parser.add_argument('--steady-seconds', type=int, default=20)
    parser.add_argument('--steady-rate', type=int, default=1000, help='messages/s of the constant-rate phase')
    parser.add_argument('--workers', default='1', help='worker processes, one run each: e.g. 1,2,3')
    parser.add_argument('--batch', action='store_true', help='also the batched POSTs (50 messages each)')
    parser.add_argument('--count-replies', action='store_true', help="wait (up to 15 min) to count the bot's replies")
    parser.add_argument(
        '--simulator',
        action='store_true',
        help='the embedded simulator plays Meta inside the web process (as `make run` does)',
    )
    options = parser.parse_args()
    if shutil.which('wrk') is None:
        raise SystemExit('wrk is missing: apt-get install wrk (make bench installs it)')
    counts = [int(part) for part in options.workers.split(',')]

    url = await recreate_database(options.postgres, 'leadmaster_bench')
    ceiling = await raw_insert_ceiling(url)
    await drop_database(options.postgres, 'leadmaster_bench')
    print(f'ceiling: raw asyncpg INSERT+COMMIT, 32 connections: {ceiling:,.0f} rows/s')
    runs = {}
    for count in counts:
        runs[count] = run = await one_run(options, worker_processes=count)
        print(
            f'{count} worker process(es): stored {run["single"]["stored_per_s"]:,.0f} msg/s, acknowledged '
            f'{run["single"]["msgs_per_s"]:,.0f} msg/s, steady p99 {run["steady"]["p99_ms"]:.1f} ms, worker CPU '
            f'{run["steady"]["worker_cpu_ms_per_msg"]} ms/msg (steady), load average {run["single"]["load_average"]}'
        )

    first = runs[counts[0]]
    steady, single, batch = first['steady'], first['single'], first['batch']
    best_stored = max(run['single']['stored_per_s'] for run in runs.values())
    print(
        json.dumps(
            {
                'bench': 'ingest',
                'database': 'postgresql',
                'meta': 'simulator' if options.simulator else 'fake_graph_process',
                'worker_processes': counts[0],
                'ceiling_inserts_per_s': round(ceiling),
                'single_msgs_per_s': round(single['msgs_per_s']),
                'single_p50_ms': single['p50_ms'],
                'single_p99_ms': single['p99_ms'],
                'single_stored_per_s': round(single['stored_per_s']),
                'single_ratio_to_ceiling': round(single['msgs_per_s'] / ceiling, 3),
                'single_stored_ratio_to_ceiling': round(single['stored_per_s'] / ceiling, 3),
                'single_web_cpu_ms_per_msg': single['web_cpu_ms_per_msg'],
                'single_worker_cpu_ms_per_msg': single['worker_cpu_ms_per_msg'],
                'batch_msgs_per_s': round(batch['msgs_per_s']) if batch else None,
                'batch_stored_per_s': round(batch['stored_per_s']) if batch else None,
                'steady_rate': options.steady_rate,
                'steady_p50_ms': round(steady['p50_ms'], 1),
                'steady_p99_ms': round(steady['p99_ms'], 1),
                'steady_seconds': options.steady_seconds,
                'steady_failures': steady['failures'],
                'steady_web_cpu_ms_per_msg': steady['web_cpu_ms_per_msg'],
                'steady_worker_cpu_ms_per_msg': steady['worker_cpu_ms_per_msg'],
                'stored_target_met': best_stored >= 3200,
                'by_worker_processes': {
                    str(count): {
                        'acknowledged_per_s': round(run['single']['msgs_per_s']),
                        'stored_per_s': round(run['single']['stored_per_s']),
                        'drained_after_s': round(run['single']['drained_after_s'], 1),
                        'steady_p99_ms': round(run['steady']['p99_ms'], 1),
                        'steady_worker_cpu_ms_per_msg': run['steady']['worker_cpu_ms_per_msg'],
                        'single_worker_cpu_ms_per_msg': run['single']['worker_cpu_ms_per_msg'],
                        'load_average': run['single']['load_average'],
                    }
                    for count, run in runs.items()
                },
                'bot_replies': first['bot_replies'],
                'app_rss_mb': first['app_rss_mb'],
                'worker_rss_mb': first['worker_rss_mb'],
                'load_average': ' '.join(f'{value:.2f}' for value in os.getloadavg()),
            }
        )
    )


if __name__ == '__main__':
    asyncio.run(main())
