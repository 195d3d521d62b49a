"""Prometheus metrics (SPEC O4), counted where the work happens, read at `/metrics` (app/routes/metrics.py).

prometheus-client's multiprocess mode: the web process and the worker process each write their counters to
memory-mapped files in one directory, and `/metrics` (served by a web process) adds them up. The mode is chosen when
the first metric is made, so nothing here touches prometheus-client until `configure_metrics` runs, once per process
at its start (`app/wiring.py`, `app/worker_process.py`); until then every `record…` function does nothing, which is
what unit tests of services want.

Figures only, never message text or phone numbers (O3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

# Seconds: from 1 ms (a webhook's acknowledgement) to 30 s (an LLM turn, a slow send).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class _Metrics:
    webhook_requests: Any  # Counter{status}
    webhook_ack_seconds: Any  # Histogram
    ingested_messages: Any  # Counter{result}
    statuses_applied: Any  # Counter
    outbox_sends: Any  # Counter{result, code}
    outbox_send_seconds: Any  # Histogram
    live_event_seconds: Any  # Histogram: published → handled by an open page
    agent_pages: Any  # Gauge (summed over the web processes that are alive)
    assistant_turns: Any  # Counter{outcome}
    assistant_turn_seconds: Any  # Histogram
    vin_reads: Any  # Counter{status}


class _State:
    """This process's metrics, once configured, and their directory in multiprocess mode."""

    metrics: _Metrics | None = None
    directory: Path | None = None


_state = _State()


def configure_metrics(*, directory: Path | None) -> None:
    """Make the metrics for this process: in `directory` (multiprocess mode, shared with the other processes of one
    deployment) or in memory (`None`: one process, e.g. the simulated browser of the tests). Idempotent."""
    if _state.metrics is not None:
        return
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        os.environ['PROMETHEUS_MULTIPROC_DIR'] = str(directory)
        _state.directory = directory
    from prometheus_client import Counter, Gauge, Histogram

    _state.metrics = _Metrics(
        webhook_requests=Counter('leadmaster_webhook_requests', 'Webhook POSTs answered, by HTTP status', ['status']),
        webhook_ack_seconds=Histogram(
            'leadmaster_webhook_ack_seconds',
            'From a webhook POST to its answer (journaled first)',
            buckets=LATENCY_BUCKETS,
        ),
        ingested_messages=Counter('leadmaster_ingested_messages', 'Inbound messages ingested, by result', ['result']),
        statuses_applied=Counter('leadmaster_statuses_applied', 'Delivery statuses that moved an outbound message'),
        outbox_sends=Counter(
            'leadmaster_outbox_sends', "Sends to the Graph API, by result and Meta's error code", ['result', 'code']
        ),
        outbox_send_seconds=Histogram(
            'leadmaster_outbox_send_seconds', 'One send request to the Graph API', buckets=LATENCY_BUCKETS
        ),
        live_event_seconds=Histogram(
            'leadmaster_live_event_seconds',
            'From an event published to an open page handling it',
            buckets=LATENCY_BUCKETS,
        ),
        agent_pages=Gauge('leadmaster_agent_pages', 'Inbox pages open', multiprocess_mode='livesum'),
        assistant_turns=Counter('leadmaster_assistant_turns', "The assistant's turns, by outcome", ['outcome']),
        assistant_turn_seconds=Histogram(
            'leadmaster_assistant_turn_seconds', 'One assistant turn, thinking included', buckets=LATENCY_BUCKETS
        ),
        vin_reads=Counter('leadmaster_vin_reads', 'Photos read for a VIN, by result', ['status']),
    )


def registry() -> CollectorRegistry:
    """What `/metrics` shows: every process's files in multiprocess mode, else this process's metrics."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    if _state.directory is None:
        return REGISTRY
    collected = CollectorRegistry()
    MultiProcessCollector(collected, path=str(_state.directory))
    return collected


def forget_process(pid: int) -> None:
    """A process of this deployment is gone: its live gauges stop counting (its counters stay in the totals)."""
    if _state.directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, path=str(_state.directory))


def forget_dead_processes(directory: Path) -> int:
    """At a process's start: files of processes no longer alive (a restart, a crash) are removed, so the directory
    does not grow with every restart; Prometheus reads the totals' drop as the counter reset it is."""
    removed = 0
    for leftover in directory.glob('*_*.db') if directory.is_dir() else ():
        pid = leftover.stem.rsplit('_', 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


# --- what the services count --------------------------------------------------------------------------------------


def record_webhook(status: int, seconds: float) -> None:
    if (m := _state.metrics) is not None:
        m.webhook_requests.labels(status=str(status)).inc()
        m.webhook_ack_seconds.observe(seconds)


def record_ingest(*, stored: int, duplicates: int, dead_letters: int, unroutable: int, statuses: int) -> None:
    if (m := _state.metrics) is not None:
        for result, count in (
            ('stored', stored),
            ('duplicate', duplicates),
            ('dead_letter', dead_letters),
            ('unroutable', unroutable),
        ):
            if count:
                m.ingested_messages.labels(result=result).inc(count)
        if statuses:
            m.statuses_applied.inc(statuses)


def record_send(*, result: str, code: int | None, seconds: float) -> None:
    """result: sent, retry (a temporary error: sent again later), failed (given up), unconfirmed (no answer)."""
    if (m := _state.metrics) is not None:
        m.outbox_sends.labels(result=result, code='' if code is None else str(code)).inc()
        m.outbox_send_seconds.observe(seconds)


def record_live_event(seconds: float) -> None:
    if (m := _state.metrics) is not None:
        m.live_event_seconds.observe(max(seconds, 0.0))


def page_opened() -> None:
    if (m := _state.metrics) is not None:
        m.agent_pages.inc()


def page_closed() -> None:
    if (m := _state.metrics) is not None:
        m.agent_pages.dec()


def record_assistant_turn(outcome: str, seconds: float) -> None:
    if (m := _state.metrics) is not None:
        m.assistant_turns.labels(outcome=outcome).inc()
        m.assistant_turn_seconds.observe(seconds)


def record_vin_read(status: str) -> None:
    if (m := _state.metrics) is not None:
        m.vin_reads.labels(status=status).inc()
