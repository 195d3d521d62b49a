"""Structured logs (SPEC O4): JSON lines with the ids of what was being handled, and a request id a caller can
quote."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from nicegui.testing import User

from app.logs import configure_logging
from services.log_context import log_ids
from tests.conftest import World


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_bound_ids_and_the_traceback(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(process='worker', log_format='json')
    log = logging.getLogger('services.whatsapp.ingest')

    with log_ids(delivery_id=41), log_ids(message_id=7, conversation_id=None):
        try:
            raise ValueError('boom')
        except ValueError:
            log.exception('webhook delivery %s failed', 41)
    log.warning('after the block')

    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first['level'], first['logger'], first['process']) == ('error', 'services.whatsapp.ingest', 'worker')
    assert first['message'] == 'webhook delivery 41 failed'
    assert (first['delivery_id'], first['message_id']) == (41, 7) and 'conversation_id' not in first
    assert 'ValueError: boom' in first['exception']
    assert 'delivery_id' not in second  # the ids end with their block


def test_text_lines_name_the_ids_too(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    configure_logging(process='web', log_format='text')

    with log_ids(request_id='abc123'):
        logging.getLogger('app.routes.webhooks').warning('malformed webhook body')

    assert capsys.readouterr().err.rstrip().endswith('malformed webhook body [request_id=abc123]')


async def test_every_answer_carries_a_request_id_and_a_given_one_is_kept(user: User, world: World) -> None:
    generated = await user.http_client.get('/health')
    given = await user.http_client.get('/health', headers={'X-Request-Id': 'erp-7f3a'})
    refused = await user.http_client.get('/health', headers={'X-Request-Id': 'no spaces <allowed>'})

    assert len(generated.headers['x-request-id']) == 16
    assert given.headers['x-request-id'] == 'erp-7f3a'
    assert refused.headers['x-request-id'] != 'no spaces <allowed>'
