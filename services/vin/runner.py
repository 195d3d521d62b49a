"""Runs the VIN pipeline off the event loop (V3): a process pool, one OCR thread per process, a time limit
per image.

A process pool, not threads: Tesseract runs as a subprocess but the preprocessing (numpy, Pillow) and
RapidOCR hold the GIL long enough to stall NiceGUI's websockets. Processes are started with `spawn`, not
`fork`: the web process has threads (NiceGUI, database pools) that a fork would copy in a locked state.

The limit is enforced twice: the pipeline itself stops between passes and passes the time left to each
Tesseract call (which pytesseract kills when it runs over); if a worker still overruns (a stuck native
call), the pool is replaced, so one pathological image cannot hold the queue.

The hard limit counts from when an image reaches a process, not from when it was asked for: no more images are
handed to the pool than it has processes (issue 17: with the wait counted, the later photos of a batch were given
up while queued, and replacing the pool killed the reads in progress). A replaced pool is abandoned without
waiting: its processes are killed and its queue is not flushed at exit (a photo's bytes left in the pipe to a
dead process made `leadmaster vin read` print its lines and never exit).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from collections.abc import Callable, Sequence

from .engines import engine_named, limit_threads, rapidocr_available, second_recognizer
from .pipeline import VinResult, read_vin

log = logging.getLogger(__name__)

# Slack between the pipeline's own budget and the hard limit: process start-up, pickling, the last pass.
HARD_LIMIT_SLACK_SECONDS = 5.0


def _initialize_worker(engine: str) -> None:
    limit_threads()  # before any OCR library starts its OpenMP threads
    # Load the models once per process, not on the first customer's photo (the second recognizer's too, and
    # RapidOCR's, which the Tesseract pipeline uses as its detector since version 4).
    if rapidocr_available():
        from .engines import _rapid_engine

        _rapid_engine()
    from .tesseract_api import shared_api

    shared_api()
    second_recognizer(engine)  # loads its model (Tesseract's Spanish one for the default engine)


def _read(content: bytes, engine: str, time_budget: float) -> VinResult:
    return read_vin(content, engine=engine, time_budget=time_budget)


Pipeline = Callable[[bytes, str, float], VinResult]


class VinReader:
    """`await reader.read(image_bytes)` → `VinResult`, never raising for a bad image or a timeout.

    `pipeline` runs in the pool's processes (a module-level function, importable there); tests pass stand-ins."""

    def __init__(
        self,
        *,
        engine: str = 'tesseract',
        workers: int = 1,
        timeout_seconds: float = 20.0,
        hard_limit_slack_seconds: float = HARD_LIMIT_SLACK_SECONDS,
        pipeline: Pipeline = _read,
    ) -> None:
        engine_named(engine)  # fail at start-up, not on the first photo, if the engine is not installed
        self.engine = engine
        self.workers = workers
        self.timeout_seconds = timeout_seconds
        self.hard_limit_seconds = timeout_seconds + hard_limit_slack_seconds
        self.pipeline = pipeline
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        # Images in the pool at once: one per process. One semaphore per event loop (a reader may outlive a loop:
        # the CLI's asyncio.run, tests).
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context('spawn'),
                initializer=_initialize_worker,
                initargs=(self.engine,),
            )
        return self._pool

    async def read(self, content: bytes) -> VinResult:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        async with self._slots[1]:
            return await self._read_now(content)

    async def _read_now(self, content: bytes) -> VinResult:
        loop = asyncio.get_running_loop()
        pool = self._executor()
        future = loop.run_in_executor(pool, self.pipeline, content, self.engine, self.timeout_seconds)
        try:
            return await asyncio.wait_for(future, timeout=self.hard_limit_seconds)
        except TimeoutError:
            log.warning('VIN reading overran %g s; replacing the OCR process pool', self.hard_limit_seconds)
            self._replace_pool(pool)
            return VinResult.failed(engine=self.engine, error='timeout', seconds=self.timeout_seconds)
        except concurrent.futures.process.BrokenProcessPool:
            log.exception('VIN OCR process died; starting a new pool')
            self._replace_pool(pool)
            return VinResult.failed(engine=self.engine, error='ocr process crashed', seconds=0.0)

    async def read_many(self, contents: Sequence[bytes]) -> list[VinResult]:
        return list(await asyncio.gather(*(self.read(content) for content in contents)))

    def _replace_pool(self, failed: concurrent.futures.ProcessPoolExecutor) -> None:
        """Abandon the pool a read failed in — unless another read replaced it already (never the new one)."""
        if self._pool is failed:
            self._pool = None
            _abandon(failed)

    async def warm_up(self) -> None:
        """Start the pool's processes now (a spawn takes ~1 s), e.g. at application start."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor(), limit_threads)

    async def aclose(self) -> None:
        """Stop the pool: its processes finish what they hold within the hard limit, else they are killed."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(
                asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True), timeout=self.hard_limit_seconds
            )
        except TimeoutError:
            log.warning('the OCR processes did not stop within %g s; killing them', self.hard_limit_seconds)
            _abandon(pool)


def _abandon(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill a pool's processes and let this process exit without flushing the pool's queue to them."""
    # concurrent.futures has no public way (Python 3.14 adds terminate_workers()): its private attributes, guarded.
    call_queue = getattr(pool, '_call_queue', None)
    if call_queue is not None:
        # The feeder thread may be blocked writing a photo into the pipe of a dead process; at exit
        # multiprocessing would join it forever.
        call_queue.cancel_join_thread()
    terminate = getattr(pool, 'terminate_workers', None)
    if terminate is not None:
        terminate()
    else:
        for process in list((getattr(pool, '_processes', None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
