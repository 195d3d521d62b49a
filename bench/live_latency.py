"""Live latency of the agent console (SPEC C2, issue 4): signed webhook POST → text visible in 20 agent pages.

Starts the real app (`leadmaster run` on a free port, fresh database: PostgreSQL by default, `--sqlite` for the
embedded file), creates 2 managers and 18 agents of branch BENCH and signs each of them in, in its own browser
context of Debian's Chromium, on the inbox (the conversation list, no conversation open). 30 conversations
exist before the measurement; then 200 signed Cloud API webhooks, one text each, are POSTed at a steady pace
(one every `--interval-ms`, open loop: each POST leaves on its schedule whatever the previous answers). Nine
in ten come from customers already in the list (the row's preview changes and the row moves to the top), one
in ten from a new customer (a new row is inserted).

How it is timed: a MutationObserver in every page notes `performance.timeOrigin + performance.now()` when a
message's unique token first enters the DOM, and again at the next animation frame (when it is painted: the
"visible" figure). The POST's send time is `time.time()` just before the request. The two clocks are related
NTP-style: for every page, 15 `page.evaluate` round trips each bracket a browser timestamp between two Python
timestamps; the one with the shortest round trip gives the offset, to within half that round trip (printed as
the clock uncertainty), measured before and after the run (the drift is printed too). The latency of one
message is the time until it is visible in ALL pages (the slowest page); p50/p95 over the 200 messages.

The pace (default one message a second, a busy hour of a whole branch network, far below what ingest sustains,
see bench/ingest.py) keeps this a latency measurement: no queue builds up between webhooks. The pace is bounded
by the browsers, not the server: all 20 Chromium pages run on the same 2-core machine, without a GPU, and each
costs 40-70 ms of CPU per list update (mostly painting), so at 13 messages/s the pages alone would need
~16 cores. The AI assistant is off unless `--with-assistant`: this measures the console's live path; with the
bot on, every message also gets an AI reply (and, without a catalog, a handoff toast), several times the events.

Issue 20 (SPEC O6): `--web 2` runs the app as `leadmaster cluster --web 2 --workers 1` (HAProxy in front, the pages
spread evenly over the two web processes, each pinned by the balancer's cookie as a browser is), and
`--light-pages 180` adds 180 agent pages held open by the light client of bench/agent_memory.py (HTTP + Socket.IO,
as nicegui.js): 200 agent pages in all, which 20 Chromium pages plus 180 more could not be on two shared cores
(each Chromium page costs ~25 ms of CPU per update). A light page's time is when the server's message carrying the
token arrives (the server's side of "visible"; no clock to relate, it is this process's clock); the figure
`visible_all` is until the slowest page of all, Chromium or light, has it.

Run: `.venv/bin/python bench/live_latency.py [--sqlite] [--pages 20] [--light-pages 0] [--web 1] [--webhooks 200]
[--interval-ms 1000] [--with-assistant]`
Ends with one JSON line: {"bench": "live_latency", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEFAULT_POSTGRES,
    SLOW_PAGE_BUILDS,
    BenchDatabase,
    cpu_stall_microseconds,
    create_agents,
    customer,
    load_average,
    login,
    percentile,
    post_webhook,
    print_app_log,
    rounded,
    signed_text,
    summary,
    wait_for_messages,
)
from agent_memory import App, LightPage, all_connected, cookies_of, pinned, start, stop
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

TARGET_P95_MS = 250.0
EXISTING_CONVERSATIONS = 30
# Records, per token, when it first entered the DOM and the next animation frame after that (painted).
# An init script, so it survives reloads (NiceGUI reloads a page whose socket cannot resume); what it saw is
# kept in sessionStorage across them and the reloads are counted.
OBSERVER = r"""
(() => {
  const saved = sessionStorage.getItem('__lm');
  window.__lm = saved ? JSON.parse(saved) : {dom: {}, frame: {}, hidden: 0, loads: 0};
  window.__lm.loads += 1;
  const save = () => sessionStorage.setItem('__lm', JSON.stringify(window.__lm));
  save();
  const token = /L(\d{5})T/g;  // no \b: textContent runs the time label into the preview
  const now = () => performance.timeOrigin + performance.now();
  const scan = (text, found) => {
    if (!text) return;
    token.lastIndex = 0;
    let match;
    while ((match = token.exec(text)) !== null) {
      if (!(match[1] in window.__lm.dom) && !found.includes(match[1])) found.push(match[1]);
    }
  };
  new MutationObserver((records) => {
    const at = now();
    const found = [];
    for (const record of records) {
      if (record.type === 'characterData') {
        const before = found.length;
        scan(record.target.data, found);
        const parent = record.target.parentElement;
        if (found.length > before && parent && !parent.checkVisibility()) window.__lm.hidden += 1;
      } else {
        for (const node of record.addedNodes) scan(node.textContent, found);
      }
    }
    if (!found.length) return;
    for (const id of found) window.__lm.dom[id] = at;
    save();
    requestAnimationFrame(() => {
      const painted = now();
      for (const id of found) if (!(id in window.__lm.frame)) window.__lm.frame[id] = painted;
      save();
    });
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def token(index: int) -> str:
    return f'L{index:05d}T'


async def evaluate(page: Page, expression: str, argument: Any = None) -> Any:
    """page.evaluate, retried while NiceGUI reloads the page (the old document's context is gone)."""
    for attempt in range(20):
        try:
            return await page.evaluate(expression, argument)
        except PlaywrightError as exc:
            if 'Execution context was destroyed' not in str(exc) or attempt == 19:
                raise
            await asyncio.sleep(0.25)
    return None


async def clock_offset(page: Page, samples: int = 15) -> tuple[float, float]:
    """(browser clock − Python clock in s, uncertainty in s) from the shortest of `samples` round trips."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time()
        browser_ms = await evaluate(page, 'performance.timeOrigin + performance.now()')
        after = time.time()
        if best is None or after - before < best[1] * 2:
            best = (browser_ms / 1000 - (before + after) / 2, (after - before) / 2)
    assert best is not None
    return best


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


async def run(options: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix='leadmaster-live-latency-'))
    db = await BenchDatabase.create(
        sqlite=options.sqlite, postgres=options.postgres, name='leadmaster_bench_live', work=work
    )
    app = start(db, work, web=options.web)
    base = app.base
    try:
        usernames = await create_agents(db.url, agents=options.pages - 2, managers=2)
        async with httpx.AsyncClient(timeout=10) as client:
            for index in range(EXISTING_CONVERSATIONS):
                body, signature = signed_text(customer(index), [f'Hola, consulta inicial {index}'], serial=index)
                (await post_webhook(client, base, body, signature)).raise_for_status()
        await wait_for_messages(db.url, EXISTING_CONVERSATIONS)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            pages: list[Page] = []
            for first in range(0, len(usernames), 2):  # a few at a time: every login hashes with Argon2
                group = usernames[first : first + 2]
                contexts = [await browser.new_context() for _ in group]
                for n, context in enumerate(contexts, start=first):
                    await context.add_init_script(OBSERVER)
                    if instance := app.instance_of(n):  # behind the balancer: this page's web process
                        await context.add_cookies([{'name': 'LM_WEB', 'value': instance, 'url': base}])
                pages += await asyncio.gather(
                    *(login(context, base, username) for context, username in zip(contexts, group, strict=True))
                )
            visibility = [await evaluate(page, 'document.visibilityState') for page in pages]
            print(
                f'{len(pages)} agent pages signed in ({", ".join(sorted(set(visibility)))}); '
                f'load average {load_average()}'
            )
            async with httpx.AsyncClient(timeout=60) as http:
                light = await open_light_pages(http, app, pages, options.light_pages)
                result = await measure(options, base, pages, light, app)
                for page in light:
                    await page.close()
            await browser.close()
        result['load_average'] = load_average()
        result['inbox_builds_over_response_timeout'] = len(SLOW_PAGE_BUILDS)
        result['database'] = db.kind
        return result
    except BaseException:
        print_app_log(work)
        raise
    finally:
        stop(app)
        await db.drop()
        shutil.rmtree(work, ignore_errors=True)


class TimedLightPage(LightPage):
    """A light agent page that notes when each message token first arrives in what the server pushes to it."""

    def __init__(self, base: str, cookies: httpx.Cookies) -> None:
        super().__init__(base, cookies)
        self.seen: dict[str, float] = {}
        self.on_message = self._scan

    def _scan(self, text: str) -> None:
        at = time.time()
        for match in TOKEN.finditer(text):
            self.seen.setdefault(match.group(1), at)


TOKEN = re.compile(r'L(\d{5})T')


async def open_light_pages(http: httpx.AsyncClient, app: App, chromium: list[Page], count: int) -> list[TimedLightPage]:
    """`count` light inbox pages of the same agents as the Chromium pages (their session cookies), spread over the
    web processes like them."""
    if not count:
        return []
    states = [await page.context.storage_state() for page in chromium]
    light: list[TimedLightPage] = []
    for n in range(count):
        page = TimedLightPage(app.base, pinned(cookies_of(states[n % len(states)]), app.instance_of(len(chromium) + n)))
        await page.open(http, '/')
        light.append(page)
        if (n + 1) % 50 == 0:
            print(f'  {n + 1} light pages open; load average {load_average()}')
    await all_connected(http, light)
    print(f'{count} light agent pages open and connected; load average {load_average()}')
    return light


async def measure(
    options: argparse.Namespace, base: str, pages: list[Page], light: list[TimedLightPage], app: App
) -> dict[str, Any]:
    # keepalive_expiry below uvicorn's 5 s keep-alive: a connection left idle while the clocks are synchronised
    # would otherwise be closed by the server just as the next POST reuses it (a ReadError, not a latency).
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=32, keepalive_expiry=1.0)) as client:
        # Warm-up (not counted): the first events through every page's handlers and the caches.
        await send_paced(client, base, range(90_000, 90_010), options.interval_ms / 1000)
        await asyncio.sleep(1.0)
        offsets_before = [await clock_offset(page) for page in pages]
        # The server is the web process and, on PostgreSQL, its worker process (ingest runs there).
        web = psutil.Process(app.process.pid)
        server = [web, *web.children(recursive=True)]
        browser_side = [p for p in psutil.Process().children(recursive=True) if p.pid not in {s.pid for s in server}]
        cpu_start = time.perf_counter(), cpu_seconds(server), cpu_seconds(browser_side), cpu_stall_microseconds()
        sent = await send_paced(client, base, range(options.webhooks), options.interval_ms / 1000)
        await wait_until_seen(pages, [token(index) for index in range(options.webhooks)], seconds=15, light=light)
        elapsed = time.perf_counter() - cpu_start[0]
        server_cpu = (cpu_seconds(server) - cpu_start[1]) / elapsed * 100
        browser_cpu = (cpu_seconds(browser_side) - cpu_start[2]) / elapsed * 100
        stalled = (cpu_stall_microseconds() - cpu_start[3]) / 1e6 / elapsed * 100
        offsets_after = [await clock_offset(page) for page in pages]

    records = [await evaluate(page, 'window.__lm') for page in pages]
    visible_all, dom_all, any_page, missing = [], [], [], 0
    chromium_all: list[float] = []
    light_all: list[float] = []
    missing_light = 0
    per_kind: dict[str, list[float]] = {'new': [], 'existing': []}
    for index, (send_time, _, _) in sent.items():
        key = f'{index:05d}'
        frame_ms, dom_ms = [], []
        for record, (offset, _) in zip(records, offsets_before, strict=True):
            if key not in record['frame']:
                missing += 1
                continue
            frame_ms.append((record['frame'][key] / 1000 - offset - send_time) * 1000)
            dom_ms.append((record['dom'][key] / 1000 - offset - send_time) * 1000)
        arrived_ms = [(page.seen[key] - send_time) * 1000 for page in light if key in page.seen]
        missing_light += len(light) - len(arrived_ms)
        if len(frame_ms) < len(pages) or len(arrived_ms) < len(light):
            continue
        slowest = max(frame_ms + arrived_ms)
        visible_all.append(slowest)
        chromium_all.append(max(frame_ms))
        if arrived_ms:
            light_all.append(max(arrived_ms))
        dom_all.append(max(dom_ms))
        any_page.extend(frame_ms)
        per_kind['new' if is_new(index) else 'existing'].append(slowest)
    acks = [ack for _, ack, _ in sent.values()]
    failures = sum(1 for _, _, status in sent.values() if status != 200)
    uncertainty = max(u for _, u in offsets_before + offsets_after) * 1000
    drift = max(abs(a[0] - b[0]) for a, b in zip(offsets_before, offsets_after, strict=True)) * 1000
    result = {
        'bench': 'live_latency',
        'web_processes': options.web,
        'pages': len(pages) + len(light),
        'chromium_pages': len(pages),
        'light_pages': len(light),
        'webhooks': options.webhooks,
        'interval_ms': options.interval_ms,
        'complete': len(visible_all),
        **{f'visible_all_{k}': v for k, v in summary(visible_all).items()},
        **{f'dom_all_{k}': v for k, v in summary(dom_all).items()},
        **{f'chromium_all_{k}': v for k, v in summary(chromium_all).items()},
        **{f'light_all_{k}': v for k, v in summary(light_all).items()},
        'one_page_p50_ms': rounded(percentile(any_page, 50)),
        'one_page_p95_ms': rounded(percentile(any_page, 95)),
        'new_row_p95_ms': rounded(percentile(per_kind['new'], 95), 1),
        'existing_row_p95_ms': rounded(percentile(per_kind['existing'], 95), 1),
        'ack_p50_ms': rounded(percentile(acks, 50), 1),
        'ack_p95_ms': rounded(percentile(acks, 95), 1),
        'post_failures': failures,
        'missing_page_messages': missing + missing_light,
        'missing_light_page_messages': missing_light,
        'light_pages_reopened': sum(1 for page in light if page.disconnect_reason),
        'hidden_when_seen': sum(record['hidden'] for record in records),
        'page_reloads': sum(record['loads'] for record in records) - len(records),
        'clock_uncertainty_ms': round(uncertainty, 2),
        'clock_drift_ms': round(drift, 2),
        'server_cpu_percent': round(server_cpu),
        'browser_cpu_percent': round(browser_cpu),
        'server_cpu_ms_per_webhook': round(server_cpu * elapsed * 10 / options.webhooks, 1),
        'browser_cpu_ms_per_page_message': round(browser_cpu * elapsed * 10 / options.webhooks / len(pages), 1),
        'cpu_stall_percent': round(stalled),
        'target_p95_ms': TARGET_P95_MS,
    }
    p95 = result['visible_all_p95_ms']
    result['target_met'] = p95 is not None and p95 < TARGET_P95_MS and missing == 0 and failures == 0
    return result


def is_new(index: int) -> bool:
    return index % 10 == 9


def sender_of(index: int) -> str:
    """Nine in ten from the conversations already listed, one in ten from a customer never seen before."""
    return customer(1000 + index) if is_new(index) else customer(index % EXISTING_CONVERSATIONS)


async def send_paced(
    client: httpx.AsyncClient, base: str, indexes: range, interval: float
) -> dict[int, tuple[float, float, int]]:
    """Open loop, one POST per `interval`: {index: (wall-clock send time, ack ms, status)}."""
    bodies = {
        index: signed_text(
            sender_of(index), [f'{token(index)} ¿tienen pastillas de freno para Gol Trend?'], serial=100_000 + index
        )
        for index in indexes
    }
    sent: dict[int, tuple[float, float, int]] = {}

    async def one(index: int) -> None:
        body, signature = bodies[index]
        started = time.perf_counter()
        send_time = time.time()
        response = await post_webhook(client, base, body, signature)
        sent[index] = (send_time, (time.perf_counter() - started) * 1000, response.status_code)

    tasks = []
    start = time.perf_counter()
    for position, index in enumerate(indexes):
        await asyncio.sleep(max(0.0, start + position * interval - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return sent


async def wait_until_seen(
    pages: list[Page], tokens: list[str], *, seconds: float, light: list[TimedLightPage] | None = None
) -> None:
    keys = [t[1:-1] for t in tokens]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts = [
            await evaluate(page, '(keys) => keys.filter((k) => k in window.__lm.frame).length', keys) for page in pages
        ]
        counts += [sum(1 for key in keys if key in page.seen) for page in light or []]
        if min(counts) == len(keys):
            return
        await asyncio.sleep(0.5)
    print(f'warning: not every message reached every page within {seconds} s of the last POST')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sqlite', action='store_true', help='the embedded SQLite file instead of PostgreSQL')
    parser.add_argument('--postgres', default=DEFAULT_POSTGRES, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument('--pages', type=int, default=20, help='agent pages in Chromium')
    parser.add_argument(
        '--light-pages', type=int, default=0, help='more agent pages, held by a light HTTP + Socket.IO client'
    )
    parser.add_argument(
        '--web', type=int, default=1, help='web processes; more than 1: `leadmaster cluster` behind HAProxy'
    )
    parser.add_argument('--webhooks', type=int, default=200)
    parser.add_argument('--interval-ms', type=float, default=1000.0)
    parser.add_argument(
        '--with-assistant',
        action='store_true',
        help="let the AI answer every message too (off: the console's live path alone)",
    )
    options = parser.parse_args()
    if not options.with_assistant:
        # The app under test inherits this environment (bench/ingest.py start_app).
        os.environ['LEADMASTER_ASSISTANT_ENABLED'] = 'false'
    if options.sqlite and options.web > 1:
        parser.error('--web needs PostgreSQL (leadmaster cluster)')
    if options.pages < 3:
        parser.error('--pages must be at least 3 (two managers and an agent)')
    result = asyncio.run(run(options))
    print(
        f'{result["complete"]} of {result["webhooks"]} messages seen in all {result["pages"]} pages '
        f'({result["database"]}, one POST every {result["interval_ms"]:.0f} ms)'
    )
    print(
        f'POST → visible in all pages: p50 {result["visible_all_p50_ms"]} ms, p95 {result["visible_all_p95_ms"]} ms, '
        f'max {result["visible_all_max_ms"]} ms (target p95 < {TARGET_P95_MS:.0f} ms: '
        f'{"met" if result["target_met"] else "MISSED"})'
    )
    print(
        f'POST → in the DOM of all pages: p50 {result["dom_all_p50_ms"]} ms, p95 {result["dom_all_p95_ms"]} ms; '
        f'any one page: p50 {result["one_page_p50_ms"]} ms, p95 {result["one_page_p95_ms"]} ms'
    )
    print(
        f'new row p95 {result["new_row_p95_ms"]} ms, existing row p95 {result["existing_row_p95_ms"]} ms; '
        f'webhook ack p50 {result["ack_p50_ms"]} ms, p95 {result["ack_p95_ms"]} ms; '
        f'failures {result["post_failures"]}, missing {result["missing_page_messages"]}, '
        f'page reloads {result["page_reloads"]}'
    )
    print(
        f'clock uncertainty ±{result["clock_uncertainty_ms"]} ms, drift {result["clock_drift_ms"]} ms; '
        f'CPU during the run: server {result["server_cpu_percent"]} %, Chromium {result["browser_cpu_percent"]} % '
        f'(of one core); per webhook: server {result["server_cpu_ms_per_webhook"]} ms CPU, Chromium '
        f'{result["browser_cpu_ms_per_page_message"]} ms CPU per page; some task waited for a CPU '
        f'{result["cpu_stall_percent"]} % of the time (PSI); load average {result["load_average"]}'
    )
    if result['inbox_builds_over_response_timeout']:
        print(
            f"{result['inbox_builds_over_response_timeout']} sign-ins got NiceGUI's 500 page (inbox build over "
            f'response_timeout) and were reloaded'
        )
    print(json.dumps(result))


if __name__ == '__main__':
    main()
