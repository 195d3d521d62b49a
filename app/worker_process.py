"""The worker process (SPEC O6): the background workers without the web server, and the supervisor with which
`leadmaster run` keeps one beside the web process.

Why a process of its own: on one event loop, a webhook's acknowledgement or a page's update waited behind every
bot turn, summary and ingest batch of the moment (p99 ack over a second at 200 msg/s with the assistant on).
Apart, the web process only journals webhooks and serves pages; the operating system shares the cores, and
the cross-process event bus (PostgreSQL LISTEN/NOTIFY) joins the two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time

from app.background import ROLES, build_workers, parse_roles
from app.database import database_from, upgrade_to_head
from app.event_bus import build_event_bus
from app.gc_tuning import freeze_startup_objects
from app.logs import configure_logging
from app.settings import REPO_ROOT, Settings
from services import metrics
from services.database import Database, DatabaseUnavailable
from services.media_store import MediaStore
from services.presence import PresenceBoard
from services.secrets import with_stored_secrets
from services.whatsapp.graph_client import GraphClient

log = logging.getLogger('leadmaster.worker')

PARENT_PID_VARIABLE = 'LEADMASTER_PARENT_PID'
PARENT_CHECK_SECONDS = 1.0
# A worker process that ran this long before it died was not crash-looping: the restart delay starts short again.
STABLE_SECONDS = 60.0


class WorkerRefused(Exception):
    """The worker process cannot run with these settings or options (exit status 2, the reason on stderr)."""


def worker_options(only: str | None) -> tuple[Settings, frozenset[str]]:
    """The settings and roles of a worker process (`leadmaster worker`, `python -m app.worker_process`)."""
    try:
        roles = parse_roles(only)
    except ValueError as exc:
        raise WorkerRefused(str(exc)) from exc
    settings = Settings()
    if settings.effective_event_bus != 'postgres':
        raise WorkerRefused(
            'leadmaster worker needs PostgreSQL (LEADMASTER_DATABASE_URL): on SQLite the workers run inside '
            '`leadmaster run`'
        )
    return settings, roles


def run_worker_process(settings: Settings, roles: frozenset[str]) -> None:
    configure_logging(process='worker', log_format=settings.log_format)
    asyncio.run(serve_workers(settings, roles=roles))


def main(argv: list[str] | None = None) -> None:
    """`python -m app.worker_process [--only ingest,outbox]`: what `leadmaster run` starts for each worker process.
    The same as `leadmaster worker`, without building the whole command line first: a child started (and restarted)
    by the web process loads only what the workers need."""
    parser = argparse.ArgumentParser(prog='python -m app.worker_process', description=main.__doc__)
    parser.add_argument('--only', help=f'comma-separated roles (default: all): {", ".join(ROLES)}')
    options = parser.parse_args(argv)
    try:
        settings, roles = worker_options(options.only)
    except WorkerRefused as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc
    run_worker_process(settings, roles)


async def serve_workers(settings: Settings, *, roles: frozenset[str] | None = None) -> None:
    """Run the background workers (those of `roles`; all by default) until SIGTERM/SIGINT (or until the parent web
    process is gone)."""
    metrics.configure_metrics(directory=settings.var_dir / 'metrics')  # beside the web process's (O4)
    db = database_from(settings)
    if parent_pid := os.environ.get(PARENT_PID_VARIABLE):
        # Started by `leadmaster run`: a database that is down now (an outage, a restart) will be back; waiting for it
        # resumes the work the moment it is, where exiting made the supervisor back off for up to 30 s.
        if not await _wait_for_database(db, parent_pid=int(parent_pid)):
            log.warning('the web process %s is gone; stopping the workers', parent_pid)
            await db.dispose()
            return
    else:
        await db.ping()  # run by hand: fail fast with the driver's reason
    if settings.migrate_on_start:
        await upgrade_to_head(db)  # under an advisory lock: web processes may be migrating at the same time
    settings = await with_stored_secrets(db, settings)  # secrets an admin stored; the environment wins
    bus = build_event_bus(
        kind=settings.effective_event_bus,
        database_url=settings.effective_database_url,
        listen_url=settings.event_bus_url,  # behind pgbouncer the bus needs a direct connection (docs/scaling.md)
    )
    media = MediaStore(settings.media_dir)
    # In simulator mode this is the fake Graph API the web process serves (M5), reached over HTTP like Meta.
    graph = GraphClient(base_url=settings.effective_graph_api_base, token=settings.effective_whatsapp_token)
    presence = PresenceBoard(bus)  # no pages here: it only hears who is online in the web processes (T4)
    presence.listen(bus.subscribe)
    workers = build_workers(settings, db=db, bus=bus, media=media, graph=graph, online=presence.online_user_ids)
    if roles is not None:
        workers.roles = roles
    workers.subscribe(bus)
    await bus.start()
    await presence.ask_who_is_online()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parent = os.environ.get(PARENT_PID_VARIABLE)
    watch = loop.create_task(_stop_when_orphaned(int(parent), stop)) if parent else None
    workers.start()
    freeze_startup_objects()
    roles_said = ','.join(sorted(workers.roles))
    log.info('LeadMaster workers ready (pid %d, database: %s, roles: %s)', os.getpid(), db.dialect, roles_said)
    try:
        await stop.wait()
    finally:
        if watch is not None:
            watch.cancel()
        await workers.stop()
        await presence.stop()
        await bus.stop()
        await graph.aclose()
        await db.dispose()
        log.info('LeadMaster workers stopped')


async def _wait_for_database(
    db: Database, *, parent_pid: int, every_seconds: float = 1.0, say_every_seconds: float = 30.0
) -> bool:
    """True once the database answers; False if the web process that started this one is gone meanwhile."""
    loop = asyncio.get_running_loop()
    said_at: float | None = None
    while os.getppid() == parent_pid:
        try:
            await db.ping()
            if said_at is not None:
                log.warning('database reachable again; the workers start')
            return True
        except DatabaseUnavailable as exc:
            if said_at is None or loop.time() - said_at >= say_every_seconds:
                log.warning('waiting for the database before starting the workers: %s', exc)
                said_at = loop.time()
        await asyncio.sleep(every_seconds)
    return False


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """A web process killed with -9 cannot stop its worker: the worker notices it was re-parented and stops."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - nothing signals a parent's death; asking is portable
        await asyncio.sleep(PARENT_CHECK_SECONDS)
    log.warning('the web process %d is gone; stopping the workers', parent_pid)
    stop.set()


class WorkerProcess:
    """The `leadmaster worker` children of a web process: started with it, each restarted if it dies, stopped with it.
    `count` of them (`leadmaster run --workers N`, LEADMASTER_WORKER_PROCESSES): every worker is safe with N copies
    (issue 20), and N processes use N cores where one event loop uses one."""

    def __init__(
        self,
        settings: Settings,
        *,
        restart_delay_seconds: float = 1.0,
        stable_seconds: float = STABLE_SECONDS,
        count: int | None = None,
        roles: str | None = None,
    ) -> None:
        self.restart_delay_seconds = restart_delay_seconds
        self.stable_seconds = stable_seconds
        self.count = count if count is not None else settings.worker_processes
        self.roles = roles  # `--only` for every child; None: all
        self.restarts = 0
        self.last_restart_delay: float | None = None  # how long the last restart waited (operators, tests)
        # The child reads the same settings, plus what the command line may have overridden here.
        self.env = {
            **os.environ,
            'LEADMASTER_HOST': settings.host,
            'LEADMASTER_PORT': str(settings.port),
            'LEADMASTER_DATABASE_URL': settings.effective_database_url,
            'LEADMASTER_VAR_DIR': str(settings.var_dir),
            'LEADMASTER_MIGRATE_ON_START': 'false',  # this process migrated before it started serving
            PARENT_PID_VARIABLE: str(os.getpid()),
        }
        self.processes: list[asyncio.subprocess.Process | None] = [None] * self.count
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The first child (the only one unless `count` > 1)."""
        return self.processes[0]

    @property
    def pid(self) -> int | None:
        return self.pids[0] if self.pids else None

    @property
    def pids(self) -> list[int]:
        """The children running now."""
        return [process.pid for process in self.processes if process is not None and process.returncode is None]

    def start(self) -> None:
        if not self._supervisors:
            loop = asyncio.get_running_loop()
            self._supervisors = [
                loop.create_task(self._supervise(index), name=f'worker-process-{index}') for index in range(self.count)
            ]

    def _command(self) -> list[str]:
        command = [sys.executable, '-m', 'app.worker_process']
        return [*command, '--only', self.roles] if self.roles else command

    async def _supervise(self, index: int) -> None:
        delay = self.restart_delay_seconds
        while not self._stopping:
            process = self.processes[index] = await asyncio.create_subprocess_exec(
                *self._command(), cwd=REPO_ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL
            )
            started = time.monotonic()
            log.info('worker process started (pid %d)', process.pid)
            code = await process.wait()
            metrics.forget_process(process.pid)  # its live gauges stop counting; its counters stay
            if self._stopping:
                return
            self.restarts += 1
            if time.monotonic() - started > self.stable_seconds:  # it had been running fine: retry soon
                delay = self.restart_delay_seconds
            log.error('worker process %d exited with %s; starting another in %.0f s', process.pid, code, delay)
            self.last_restart_delay = delay
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)  # a crash loop (the database down at night) is retried ever more slowly

    async def stop(self, *, timeout_seconds: float = 15.0) -> None:
        self._stopping = True
        await asyncio.gather(*(self._stop_one(process, timeout_seconds) for process in self.processes))
        for supervisor in self._supervisors:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        self._supervisors = []

    async def _stop_one(self, process: asyncio.subprocess.Process | None, timeout_seconds: float) -> None:
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=timeout_seconds)
        except TimeoutError:
            log.error('worker process %d did not stop in %.0f s; killing it', process.pid, timeout_seconds)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


if __name__ == '__main__':
    main()
