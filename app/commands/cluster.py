"""`leadmaster cluster`: several web processes behind HAProxy, and worker processes, on one machine (SPEC O6).

NiceGUI serves a page from the process that built it (`ui.run` refuses several workers), so more web capacity means
more processes behind a *sticky* load balancer: HAProxy inserts a cookie naming the process on the first answer and
sends the page's socket.io connection, and every later request, to the same one. The processes share the database,
the storage secret (var/secret_key, created here before any of them starts) and the PostgreSQL LISTEN/NOTIFY event
bus, which carries every live event (messages, takeovers, typing, presence) between them. PostgreSQL only: SQLite
has no bus between processes.

This command migrates once, writes var/cluster/haproxy.cfg from deploy/haproxy.cfg.template, starts HAProxy, N web
processes (`leadmaster run` with LEADMASTER_RUN_WORKERS=false, each on its own port, named web1…webN) and M
`leadmaster worker` processes; restarts any that dies (sooner if it had been running a while), and stops them all on
Ctrl-C or SIGTERM. docker-compose.yml is the same layout with one container per process (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Annotated

import httpx
import typer

from app.commands import run_job
from app.settings import REPO_ROOT, Settings
from services.secrets import with_stored_secrets

cli = typer.Typer(help='Several web processes behind HAProxy, and worker processes (PostgreSQL).')

TEMPLATE = REPO_ROOT / 'deploy' / 'haproxy.cfg.template'
COOKIE = 'LM_WEB'  # names the web process a browser is stuck to
RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 30.0
# A process that ran this long before it died was not crash-looping: the restart delay starts short again.
STABLE_SECONDS = 60.0
STOP_SECONDS = 15.0
READY_SECONDS = 180.0  # migrations are done before; a busy machine still takes a while to import the app
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_PID = 'LEADMASTER_PARENT_PID'  # app/worker_process.py's: a worker of ours has no web process as parent


@dataclass(frozen=True)
class Backend:
    """One web process as HAProxy sees it."""

    name: str  # web1, web2…: its cookie value and its X-LeadMaster-Instance
    address: str  # host:port


def haproxy_config(
    backends: Sequence[Backend],
    *,
    bind: str,
    secure_cookie: bool = False,
    maxconn: int = 20_000,
    server_options: str = '',
    resolvers: str = '',
) -> str:
    """deploy/haproxy.cfg.template filled in. `server_options` go on every server line (docker-compose.yml resolves
    the containers' names at run time); `resolvers` is a resolvers section for them."""
    servers = '\n'.join(
        f'    server {backend.name} {backend.address} check cookie {backend.name}' for backend in backends
    )
    return Template(TEMPLATE.read_text()).substitute(
        maxconn=maxconn,
        bind=bind,
        cookie=COOKIE,
        cookie_secure=' secure' if secure_cookie else '',
        server_options=f' {server_options}' if server_options else '',
        resolvers=f'\n{resolvers.rstrip()}\n' if resolvers else '',
        servers=servers,
    )


# docker-compose.yml: its web containers by service name, resolved by Docker's DNS when they (re)start.
COMPOSE_BACKENDS = (Backend('web1', 'web1:8080'), Backend('web2', 'web2:8080'))
COMPOSE_RESOLVERS = """resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 10s"""


def compose_haproxy_config() -> str:
    """deploy/haproxy.cfg, the balancer of docker-compose.yml (a test keeps the file equal to this)."""
    return haproxy_config(
        COMPOSE_BACKENDS,
        bind=':8080',
        server_options='resolvers docker init-addr last,libc,none',
        resolvers=COMPOSE_RESOLVERS,
    )


@dataclass
class Child:
    """A process the cluster keeps running."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    copier: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None


def _death_signal() -> Callable[[], None] | None:
    """What a child runs before exec on Linux: SIGTERM to it when the cluster process dies, even by kill -9, so no
    web process is left serving an orphaned port. libc is loaded here, in the parent: the child only calls it."""
    if sys.platform != 'linux':
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Cluster:
    children: list[Child]
    prefix_output: bool = True  # "web1 | …" before each line; off for JSON logs (a shipper reads them whole)
    restart_delay_seconds: float = RESTART_DELAY_SECONDS
    stable_seconds: float = STABLE_SECONDS
    stopping: bool = False
    failed: str | None = None  # why the cluster gave up (a process died before the cluster was ever ready)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _supervisors: list[asyncio.Task[None]] = field(default_factory=list)
    _death_signal: Callable[[], None] | None = field(default_factory=_death_signal)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._supervisors = [
            loop.create_task(self._supervise(child), name=f'cluster-{child.name}') for child in self.children
        ]

    async def _spawn(self, child: Child) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *child.argv,
            cwd=REPO_ROOT,
            env=child.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches only this process, which stops the others in order
            # (HAProxy last) instead of all of them at once and the supervisors taking it for a crash.
            start_new_session=True,
            preexec_fn=self._death_signal,
        )
        child.process = process
        child.started_at = time.monotonic()
        child.copier = asyncio.get_running_loop().create_task(self._copy_output(child, process))
        return process

    async def _copy_output(self, child: Child, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        prefix = f'{child.name:<8}| '.encode() if self.prefix_output else b''
        out = sys.stdout.buffer
        async for line in process.stdout:
            out.write(prefix + line)
            out.flush()

    async def _supervise(self, child: Child) -> None:
        delay = self.restart_delay_seconds
        while not self.stopping:
            process = await self._spawn(child)
            code = await process.wait()
            if child.copier is not None:
                await child.copier
            if self.stopping:
                return
            if not self.ready.is_set():
                self.failed = f'{child.name} exited with {code} before the cluster was ready'
                self.ready.set()  # wakes the start-up wait, which stops everything
                return
            child.restarts += 1
            if time.monotonic() - child.started_at > self.stable_seconds:
                delay = self.restart_delay_seconds
            _say(f'{child.name} (pid {process.pid}) exited with {code}; starting it again in {delay:.0f} s')
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)

    async def stop(self, *, timeout_seconds: float = STOP_SECONDS) -> None:
        """SIGTERM to every process (web and workers finish what they do; HAProxy last, so answers already under way
        still reach their clients), then SIGKILL to any still there after `timeout_seconds`."""
        self.stopping = True
        balancers = [child for child in self.children if child.name == 'haproxy']
        others = [child for child in self.children if child.name != 'haproxy']
        await asyncio.gather(*(self._terminate(child, timeout_seconds) for child in others))
        await asyncio.gather(*(self._terminate(child, timeout_seconds) for child in balancers))
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)

    async def _terminate(self, child: Child, timeout_seconds: float) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=timeout_seconds)
        except TimeoutError:
            _say(f'{child.name} (pid {process.pid}) did not stop in {timeout_seconds:.0f} s; killing it')
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _say(text: str) -> None:
    typer.echo(f'cluster | {text}')


def build_children(
    settings: Settings,
    *,
    web: int,
    workers: int,
    web_host: str,
    web_ports: Sequence[int],
    haproxy: str,
    config_path: Path,
) -> list[Child]:
    """HAProxy, the web processes and the worker processes, each with its environment."""
    python = [sys.executable, '-m', 'app.cli']
    shared = {
        **{k: v for k, v in os.environ.items() if k != PARENT_PID},
        'LEADMASTER_DATABASE_URL': settings.effective_database_url,
        'LEADMASTER_VAR_DIR': str(settings.var_dir),
        'LEADMASTER_MIGRATE_ON_START': 'false',  # migrated once, here, before any of them started
        'LEADMASTER_EVENT_BUS': 'postgres',
    }
    children = [Child('haproxy', [haproxy, '-f', str(config_path), '-db'], dict(shared))]
    for index, port in enumerate(web_ports[:web], start=1):
        env = {
            **shared,
            'LEADMASTER_HOST': web_host,
            'LEADMASTER_PORT': str(port),
            'LEADMASTER_RUN_WORKERS': 'false',  # the worker processes below do the background work
            'LEADMASTER_INSTANCE_NAME': f'web{index}',
        }
        children.append(Child(f'web{index}', [*python, 'run'], env))
    for index in range(1, workers + 1):
        # In simulator mode the workers reach the fake Graph API and the simulated gateway over HTTP: always those
        # of web1 (each web process serves its own; web1 is the one that is always there).
        env = {
            **shared,
            'LEADMASTER_HOST': web_host,
            'LEADMASTER_PORT': str(web_ports[0]),
            PARENT_PID: str(os.getpid()),  # waits for the database instead of exiting; stops if we are gone
        }
        children.append(Child(f'worker{index}', [*python, 'worker'], env))
    return children


async def _wait_until_serving(
    cluster: Cluster, urls: Sequence[str], *, seconds: float, balancer: str = '', instances: Sequence[str] = ()
) -> bool:
    """Until every URL answers 200 and the balancer has put every web process in its rotation (True), or a process
    died first or the time is up (False). A web process that answers is not yet served by HAProxy: it waits for its
    health checks to pass, and a request meanwhile would get HAProxy's 503."""
    deadline = time.monotonic() + seconds
    pending = list(urls)
    unseen = set(instances)
    while (pending or unseen) and time.monotonic() < deadline and cluster.failed is None:
        # A new connection without the balancer's cookie each time: HAProxy spreads them over the processes it serves.
        async with httpx.AsyncClient(timeout=2) as client:
            with contextlib.suppress(httpx.HTTPError):
                if pending:
                    if (await client.get(pending[0])).status_code == 200:
                        pending.pop(0)
                        continue
                else:
                    response = await client.get(f'{balancer}/health')
                    if response.status_code == 200:
                        unseen.discard(response.headers.get('x-leadmaster-instance', ''))
                        continue
        await asyncio.sleep(0.3)
    return not pending and not unseen and cluster.failed is None


async def serve_cluster(
    cluster: Cluster, *, health_urls: Sequence[str], public_url: str, instances: Sequence[str] = ()
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    cluster.start()
    waiting = loop.create_task(
        _wait_until_serving(cluster, health_urls, seconds=READY_SECONDS, balancer=public_url, instances=instances)
    )
    stopped = loop.create_task(stop.wait())
    await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if stopped.done():
        waiting.cancel()
    elif not waiting.result():
        _say(cluster.failed or f'not serving after {READY_SECONDS:.0f} s')
        code = 1
    else:
        cluster.ready.set()
        pids = ', '.join(f'{child.name} {child.pid}' for child in cluster.children)
        _say(f'LeadMaster on {public_url} ({pids}); Ctrl-C stops them all')
        await stopped
    stopped.cancel()
    _say('stopping')
    await cluster.stop()
    return code


def _maxconn() -> int:
    """As many connections as this machine lets HAProxy hold (two descriptors each: client and server side), up to
    20,000: each agent's page holds one websocket all day."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return 20_000
    return max(256, min(20_000, (hard - 100) // 2))


def _web_ports(option: str | None, *, balancer_port: int, count: int) -> list[int]:
    if option:
        ports = [int(port) for port in option.split(',')]
        if len(ports) != count:
            raise typer.BadParameter(f'{count} ports expected, {len(ports)} given', param_hint='--web-ports')
        return ports
    return [balancer_port + index for index in range(1, count + 1)]


@cli.callback(invoke_without_command=True)
def cluster(
    web: Annotated[int, typer.Option('--web', min=1, max=64, help='Web processes behind the balancer')] = 2,
    workers: Annotated[int, typer.Option('--workers', min=0, max=64, help='`leadmaster worker` processes')] = 1,
    host: Annotated[str | None, typer.Option(help="The balancer's listen address (LEADMASTER_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="The balancer's port (LEADMASTER_PORT)")] = None,
    web_host: Annotated[str, typer.Option(help='Where the web processes listen (only HAProxy reaches them)')] = (
        '127.0.0.1'
    ),
    web_ports: Annotated[
        str | None, typer.Option(help='Their ports, comma-separated (default: the next N after --port)')
    ] = None,
    haproxy: Annotated[str, typer.Option(help='The haproxy binary (Debian: apt-get install haproxy)')] = 'haproxy',
    demo: Annotated[bool, typer.Option(help='Load demo data when the database is empty and print the logins')] = False,
) -> None:
    """Serve LeadMaster from several web processes behind HAProxy, with worker processes (PostgreSQL only)."""
    settings = Settings()
    # The command line wins over the environment.
    settings = settings.model_copy(update={'host': host or settings.host, 'port': port or settings.port})
    if not settings.uses_postgresql:
        typer.secho(
            'error: leadmaster cluster needs PostgreSQL (LEADMASTER_DATABASE_URL=postgresql://…): its processes '
            'share live events through it. On SQLite run one process: leadmaster run',
            err=True,
            fg='red',
        )
        raise typer.Exit(2)
    # Debian puts it in /usr/sbin, which is not on every user's PATH.
    haproxy_binary = shutil.which(haproxy) or shutil.which(haproxy, path='/usr/local/sbin:/usr/sbin:/sbin')
    if haproxy_binary is None:
        typer.secho(f'error: {haproxy} not found: apt-get install haproxy (or --haproxy PATH)', err=True, fg='red')
        raise typer.Exit(2)
    ports = _web_ports(web_ports, balancer_port=settings.port, count=web)
    if demo:  # `leadmaster seed-demo` as a command of its own: it migrates, seeds an empty database, prints logins
        seeded = asyncio.run(_run_command([sys.executable, '-m', 'app.cli', 'seed-demo'], dict(os.environ)))
        if seeded != 0:
            raise typer.Exit(seeded)
    # Migrations once, before any process starts (each would otherwise wait for the others' advisory lock).
    settings = run_job(lambda db: with_stored_secrets(db, settings), settings=settings)
    # Every web process signs the same session cookies and webhooks: generate what is generated once, now.
    for secret in (
        'effective_secret_key',
        'effective_whatsapp_app_secret',
        'effective_whatsapp_token',
        'effective_waha_api_key',
        'effective_waha_webhook_hmac_key',
    ):
        getattr(settings, secret)
    config_dir = settings.var_dir / 'cluster'
    config_dir.mkdir(parents=True, exist_ok=True)
    config_path = config_dir / 'haproxy.cfg'
    backends = [Backend(f'web{index}', f'{web_host}:{p}') for index, p in enumerate(ports, start=1)]
    config_path.write_text(
        haproxy_config(
            backends, bind=f'{settings.host}:{settings.port}', secure_cookie=settings.https, maxconn=_maxconn()
        )
    )
    children = build_children(
        settings,
        web=web,
        workers=workers,
        web_host=web_host,
        web_ports=ports,
        haproxy=haproxy_binary,
        config_path=config_path,
    )
    public_url = f'http://{settings.host}:{settings.port}'
    health_urls = [f'http://{backend.address}/health' for backend in backends] + [f'{public_url}/haproxy-health']
    cluster_ = Cluster(children, prefix_output=settings.log_format == 'text')
    instances = [backend.name for backend in backends]
    raise typer.Exit(
        asyncio.run(serve_cluster(cluster_, health_urls=health_urls, public_url=public_url, instances=instances))
    )


async def _run_command(argv: list[str], env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(*argv, cwd=REPO_ROOT, env=env)
    return await process.wait()
