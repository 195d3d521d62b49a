"""Inbound ingest benchmark (SPEC §4, M1): signed webhook → journal commit → 200 → stored → event, on PostgreSQL.

Starts the real app (`leadmaster run`, workers on) against a fresh PostgreSQL database and drives it with
Debian's `wrk` replaying pre-signed, unique Cloud API bodies (a Python client tops out near 300–400
requests/s here and would measure itself). Measured in the same run:

1. ceiling: raw asyncpg single-row INSERT + COMMIT with 32 connections (what one commit per message costs);
2. single-message POSTs at concurrency 32 for `--seconds`: acknowledged messages/s, p50/p99 ack latency;
3. batched POSTs (50 messages each) at concurrency 32: messages/s;
4. a constant 200 messages/s for 10 s (open-loop asyncio client), run before the heavy loads: p50/p99 ack;
5. for each load: how long until every acknowledged message is stored (ingest keeps up or lags).

Run: `.venv/bin/python bench/ingest.py` (needs PostgreSQL on 127.0.0.1:5432 and `wrk`; `make bench` runs it).
Ends with one JSON line: {"bench": "ingest", ...}.
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
from services.whatsapp.signatures import sign  # noqa: E402

EXTRA_ENV: dict[str, str] = {}
SECRET = 'bench-app-secret'  # noqa: S105 - signs the generated load only
NUMBERS = [('bench-pn-1', '5491150009001'), ('bench-pn-2', '5491150009002')]
CUSTOMERS = [f'54911{60000000 + index:08d}' for index in range(2000)]
WRK_SCRIPT = '''
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
  next_index = next_index % count + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = signatures[next_index]}, bodies[next_index])
end
'''


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
    body = json.dumps(build.envelope(phone_number_id='x', display_phone_number='1',
                                     messages=[build.text_message(from_=CUSTOMERS[0], body='hola')]))
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
    """`count` unique signed bodies, `per_body` messages each; returns the number of messages."""
    with path.open('w') as out:
        for index in range(count):
            number_id, display = NUMBERS[index % len(NUMBERS)]
            messages, contacts = [], {}
            for offset in range(per_body):
                serial = start + index * per_body + offset
                customer = CUSTOMERS[serial % len(CUSTOMERS)]
                contacts[customer] = build.contact(wa_id=customer, name=f'Cliente {customer[-4:]}')
                messages.append(build.text_message(from_=customer, body=f'Consulta {serial}: ¿tienen filtro de aceite?',
                                                   wa_message_id=f'wamid.BENCH{serial:010d}',
                                                   timestamp=1_795_000_000 + serial // 100))
            raw = json.dumps(build.envelope(phone_number_id=number_id, display_phone_number=display,
                                            contacts=list(contacts.values()), messages=messages), ensure_ascii=False)
            out.write(f'{sign(raw.encode(), SECRET)}\t{raw}\n')
    return count * per_body


def run_wrk(url: str, bodies: Path, script: Path, *, seconds: int, connections: int = 32, threads: int = 2) -> dict:
    output = subprocess.run(['wrk', '-t', str(threads), '-c', str(connections), '-d', f'{seconds}s', '--latency',
                             '-s', str(script), url, '--', str(bodies), str(threads)],
                            capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r'(\d+) requests in', output).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r'^\s+(50|75|90|99)%\s+(\S+)', output, re.MULTILINE)}
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    return {'requests': requests, 'rps': float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1)),
            'p50_ms': latency.get('50'), 'p99_ms': latency.get('99'), 'non_2xx': int(errors.group(1)) if errors else 0,
            'raw': output}


def _ms(value: str) -> float:
    number = float(re.match(r'[\d.]+', value).group(0))
    return number * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[re.search(r'[a-z]+$', value).group(0)]


async def constant_rate(url: str, bodies: list[tuple[str, str]], *, rate: float, seconds: float) -> dict:
    """Open loop: one request every 1/rate s regardless of answers, so slow answers show in the latency."""
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64)) as client:
        async def one(signature: str, body: str) -> None:
            nonlocal failures
            started = time.perf_counter()
            response = await client.post(url, content=body.encode(), headers={
                'Content-Type': 'application/json', 'X-Hub-Signature-256': signature})
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 200

        tasks = []
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(*bodies[index])))
        await asyncio.gather(*tasks)
    latencies.sort()
    return {'requests': len(latencies), 'failures': failures, 'p50_ms': statistics.median(latencies),
            'p99_ms': latencies[int(len(latencies) * 0.99) - 1]}


async def stored_count(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    count = await connection.fetchval('SELECT count(*) FROM messages')
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


def start_app(url: str, port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env.update(LEADMASTER_DATABASE_URL=url, LEADMASTER_PORT=str(port), LEADMASTER_VAR_DIR=str(var_dir),
               LEADMASTER_WHATSAPP_APP_SECRET=SECRET, **EXTRA_ENV)
    cli = [sys.executable, '-m', 'app.cli']
    for args in (['branches', 'add', 'BENCH', 'Benchmark'],
                 *(['numbers', 'add', '--branch', 'BENCH', '--channel', 'cloud', '--phone-number-id', pid,
                    '--display', f'+{display}'] for pid, display in NUMBERS)):
        subprocess.run([*cli, *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([*cli, 'run'], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=(var_dir / 'app.log').open('wb'))
    for _ in range(300):
        try:
            if httpx.get(f'http://127.0.0.1:{port}/health', timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f'app did not start:\n{(var_dir / "app.log").read_text()}')


def app_rss_mb(process: subprocess.Popen[bytes]) -> float:
    return int(Path(f'/proc/{process.pid}/status').read_text().split('VmRSS:')[1].split()[0]) / 1024


async def load(url: str, webhook: str, work: Path, script: Path, *, name: str, per_body: int, bodies: int,
               seconds: int, start: int) -> dict:
    """One wrk run of unique signed bodies, then the wait until every acknowledged message is stored."""
    path = work / f'{name}.txt'
    write_bodies(path, count=bodies, per_body=per_body, start=start)
    base = await stored_count(url)
    started = time.perf_counter()
    result = run_wrk(webhook, path, script, seconds=seconds)
    if result['requests'] > bodies:
        raise SystemExit(f'{name}: wrk sent {result["requests"]} requests but only {bodies} unique bodies exist')
    acknowledged = (result['requests'] - result['non_2xx']) * per_body
    drained = await wait_until_stored(url, base + acknowledged, since=started)
    stored = await stored_count(url) - base
    return {'msgs_per_s': result['rps'] * per_body, 'posts_per_s': result['rps'], 'p50_ms': result['p50_ms'],
            'p99_ms': result['p99_ms'], 'non_2xx': result['non_2xx'], 'stored': stored,
            'stored_per_s': stored / drained, 'drained_after_s': drained}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--postgres', default=os.environ.get('LEADMASTER_TEST_POSTGRES_URL',
                                                             'postgresql+asyncpg://postgres@127.0.0.1:5432/test'))
    parser.add_argument('--seconds', type=int, default=15)
    options = parser.parse_args()
    if shutil.which('wrk') is None:
        raise SystemExit('wrk is missing: apt-get install wrk (make bench installs it)')

    url = await recreate_database(options.postgres, 'leadmaster_bench')
    ceiling = await raw_insert_ceiling(url)
    print(f'ceiling: raw asyncpg INSERT+COMMIT, 32 connections: {ceiling:,.0f} rows/s')

    work = Path(tempfile.mkdtemp(prefix='leadmaster-bench-'))
    script = work / 'signed.lua'
    script.write_text(WRK_SCRIPT)
    port = free_port()
    process = start_app(url, port, work / 'var')
    webhook = f'http://127.0.0.1:{port}/webhooks/whatsapp'
    try:
        # Warm-up: pools, caches and the first contacts/conversations.
        await load(url, webhook, work, script, name='warm', per_body=1, bodies=20_000, seconds=3, start=10_000_000)
        steady_file = work / 'steady.txt'
        write_bodies(steady_file, count=2000, per_body=1, start=9_000_000)
        bodies = [tuple(line.split('\t', 1)) for line in steady_file.read_text().splitlines()]
        steady = await constant_rate(webhook, bodies, rate=200, seconds=10)  # type: ignore[arg-type]
        print(f'constant 200 msg/s for 10 s: p50 {steady["p50_ms"]:.1f} ms, p99 {steady["p99_ms"]:.1f} ms, '
              f'failures {steady["failures"]}')
        single = await load(url, webhook, work, script, name='single', per_body=1, bodies=options.seconds * 5000,
                            seconds=options.seconds, start=0)
        print(f'single-message POSTs, c=32: {single["msgs_per_s"]:,.0f} msg/s acknowledged, '
              f'p50 {single["p50_ms"]:.1f} ms, p99 {single["p99_ms"]:.1f} ms, non-2xx {single["non_2xx"]}; '
              f'{single["stored"]:,} stored after {single["drained_after_s"]:.1f} s '
              f'({single["stored_per_s"]:,.0f} msg/s end to end)')
        batch = await load(url, webhook, work, script, name='batch', per_body=50, bodies=options.seconds * 500,
                           seconds=options.seconds, start=5_000_000)
        print(f'batched POSTs (50 msgs each), c=32: {batch["msgs_per_s"]:,.0f} msg/s acknowledged '
              f'({batch["posts_per_s"]:,.0f} POST/s, p99 {batch["p99_ms"]:.1f} ms); {batch["stored"]:,} stored after '
              f'{batch["drained_after_s"]:.1f} s ({batch["stored_per_s"]:,.0f} msg/s end to end)')

        rss = app_rss_mb(process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)
        await drop_database(options.postgres, 'leadmaster_bench')
    print(json.dumps({
        'bench': 'ingest', 'database': 'postgresql', 'ceiling_inserts_per_s': round(ceiling),
        'single_msgs_per_s': round(single['msgs_per_s']), 'single_p50_ms': single['p50_ms'],
        'single_p99_ms': single['p99_ms'], 'single_stored_per_s': round(single['stored_per_s']),
        'single_ratio_to_ceiling': round(single['msgs_per_s'] / ceiling, 3),
        'batch_msgs_per_s': round(batch['msgs_per_s']), 'batch_stored_per_s': round(batch['stored_per_s']),
        'steady_200_p50_ms': round(steady['p50_ms'], 1), 'steady_200_p99_ms': round(steady['p99_ms'], 1),
        'steady_failures': steady['failures'], 'app_rss_mb': round(rss),
    }))


if __name__ == '__main__':
    asyncio.run(main())
