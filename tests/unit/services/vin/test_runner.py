"""The OCR process pool (V3, issue 17): a read over its time limit is given up alone, the rest still read, and the
command or worker that gave up always finishes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from services.vin.runner import VinReader
from tests.fakes.stuck_ocr import quick

ROOT = Path(__file__).resolve().parents[4]


def test_after_giving_up_on_a_stuck_image_the_process_still_exits() -> None:
    # Three large photos (the pickled bytes fill the pipe to the pool) on a pipeline stuck in a native call: each is
    # given up after its limit, and the interpreter exits instead of waiting forever on the dead pool's queue.
    script = textwrap.dedent(
        """
        import asyncio
        from services.vin.runner import VinReader
        from tests.fakes.stuck_ocr import stuck

        async def main():
            reader = VinReader(workers=1, timeout_seconds=0.3, hard_limit_slack_seconds=0.5, pipeline=stuck)
            results = await reader.read_many([bytes(3_000_000)] * 3)
            await reader.aclose()
            print(','.join(result.error for result in results), flush=True)

        asyncio.run(main())
        """
    )
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, '-c', script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip() == 'timeout,timeout,timeout'
    assert time.monotonic() - started < 60


async def test_images_waiting_for_the_pool_are_not_timed_out_by_their_wait() -> None:
    # Six images through one process at 0.3 s each take ~2 s; each has 0.2 + 0.5 s of its own. Counting the wait in
    # the queue gave the later ones up and killed the pool under the first ones ("ocr process crashed").
    reader = VinReader(workers=1, timeout_seconds=0.2, hard_limit_slack_seconds=0.5, pipeline=quick)
    try:
        await reader.warm_up()
        results = await reader.read_many([b'photo'] * 6)
    finally:
        await reader.aclose()
    assert [result.error for result in results] == [''] * 6
