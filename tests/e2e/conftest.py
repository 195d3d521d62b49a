"""End-to-end fixtures: the real app as a subprocess on a free port with a fresh database,
driven by Playwright in Debian's Chromium (Playwright's own browser download does not work here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.conftest import REPO_ROOT, fresh_postgres_database

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
]
DEMO_PASSWORD = 'demo-e2e-password'
# Playwright's `expect` polls until the page shows what is expected, for 5 s by default. The app answers in well under
# a second, but on a shared CI machine with both cores taken a webhook → worker process → event bus → page round
# trip has taken longer: keep polling up to 20 s (a passing assertion still returns as soon as the page shows it).
expect.set_options(timeout=20_000)


@dataclass
class RunningApp:
    base_url: str
    output: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run `leadmaster …` against the same database and settings as the running app."""
        result = subprocess.run(
            [sys.executable, '-m', 'app.cli', *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(params=['sqlite', 'postgresql'], scope='module')
def running_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """`leadmaster run --demo` exactly as `make run` starts it, on a fresh database."""
    workdir = tmp_path_factory.mktemp(f'app-{request.param}')
    database_url = (
        f'sqlite+aiosqlite:///{workdir / "e2e.sqlite3"}'
        if request.param == 'sqlite'
        else fresh_postgres_database('leadmaster_e2e')
    )
    port = _free_port()
    env = app_env(
        database_url=database_url,
        port=port,
        workdir=workdir,
        LEADMASTER_DEMO_PASSWORD=DEMO_PASSWORD,
        LEADMASTER_DEMO_CATALOG_SIZE='500',
    )
    output = workdir / 'app.log'
    with output.open('wb') as log:
        process = subprocess.Popen(
            [sys.executable, '-m', 'app.cli', 'run', '--demo'],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f'http://127.0.0.1:{port}'
    try:
        _wait_until_healthy(base_url, process, output)
        yield RunningApp(base_url=base_url, output=output, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# The machine running the tests is shared and often loaded: migrations + the demo seed can take a minute there.
START_TIMEOUT_SECONDS = 120


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'the app exited with {process.returncode}:\n{output.read_text()}', pytrace=False)
        try:
            if httpx.get(f'{base_url}/health', timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f'the app did not become healthy in {START_TIMEOUT_SECONDS} s:\n{output.read_text()}', pytrace=False)


def app_env(*, database_url: str, port: int, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `leadmaster …` subprocess on `database_url` and `port` (plus `extra` settings)."""
    return {
        # Without PYTEST_CURRENT_TEST: NiceGUI would think it runs inside pytest and pick a test port.
        **{k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'},
        'LEADMASTER_DATABASE_URL': database_url,
        'LEADMASTER_PORT': str(port),
        'LEADMASTER_VAR_DIR': str(workdir / 'var'),
        **extra,
    }


class AppProcess:
    """`leadmaster run` as a subprocess a test may kill -9 and start again, on the same port and database (fault
    tests). Its output is appended to `log` across restarts."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = int(env['LEADMASTER_PORT'])
        self.base_url = f'http://127.0.0.1:{self.port}'
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run `leadmaster …` against the same database and settings."""
        result = subprocess.run(
            [sys.executable, '-m', 'app.cli', *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f'leadmaster {" ".join(args)} failed:\n{result.stdout}\n{result.stderr}', pytrace=False)
        return result.stdout

    def start(self) -> None:
        """Start the web process (which starts its worker process on PostgreSQL) and wait until it is healthy."""
        with self.log.open('ab') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'app.cli', 'run'], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
            )
        try:
            _wait_until_healthy(self.base_url, self.process, self.log)
        except BaseException:  # pytest.fail included: no app left running behind a failed start
            self.kill()
            raise

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def kill(self) -> None:
        """kill -9 of the web process (its worker process notices and stops by itself)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope='session')
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f'{CHROMIUM} is missing: run `make test` (it installs Debian chromium) or apt-get install chromium')
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()
