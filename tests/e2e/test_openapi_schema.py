"""Schemathesis over `/openapi.json` (issue 19): every operation of the machine API — the REST API, `/health`, the
WhatsApp webhook's verification and signed POST — gets schemathesis' examples, coverage (boundaries, missing and
wrong-typed values) and fuzzing phases against the real app (`leadmaster run`, SQLite and PostgreSQL), with a valid
API key. Bounded and deterministic: at most 50 fuzzed cases per operation, derandomized.

Asserted for every response: no 5xx (`not_a_server_error`); its status code, content type, headers and body as the
OpenAPI documents them (`status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
`response_schema_conformance`); a request the schema forbids is refused with a 4xx (`negative_data_rejection`,
`missing_required_header`); a method the path does not have is a 405 listing those it has (`unsupported_method`,
`allow_header_conformance`). Not asserted: `positive_data_acceptance` — a valid request may rightly be refused
(a conversation that does not exist, an Idempotency-Key reused for another body). What schemathesis found, and how
it was fixed: docs/reliability.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.http_api import build_http_api
from services.whatsapp import payload_builders as build
from services.whatsapp.signatures import HEADER, sign
from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import AppProcess, _free_port, app_env

SECRET = 'schema-app-secret'
PHONE_NUMBER_ID = 'pn-schema'
DISPLAY = '5491150009902'
CUSTOMERS = ['5491170000101', '5491170000102', '5491170000103']
MAX_EXAMPLES = 50  # fuzzed cases per operation (the examples and coverage phases add their own, also bounded)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]


@dataclass
class Api:
    app: AppProcess
    key: str


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app with a branch, a number, three customers' conversations (ids 1-3: schemathesis' boundary values hit
    them) and an API key for every branch."""
    workdir = tmp_path_factory.mktemp(f'schema-{request.param}')
    database_url = (
        f'sqlite+aiosqlite:///{workdir / "schema.sqlite3"}'
        if request.param == 'sqlite'
        else fresh_postgres_database('leadmaster_schema')
    )
    env = app_env(
        database_url=database_url,
        port=_free_port(),
        workdir=workdir,
        LEADMASTER_WHATSAPP_APP_SECRET=SECRET,
        LEADMASTER_WHATSAPP_VERIFY_TOKEN='schema-verify-token',
        LEADMASTER_ASSISTANT_ENABLED='false',
    )
    app = AppProcess(env, workdir / 'app.log')
    app.cli('branches', 'add', 'SCH', 'Esquema')
    app.cli(
        'numbers', 'add', '--branch', 'SCH', '--channel', 'cloud', '--phone-number-id', PHONE_NUMBER_ID,
        '--display', f'+{DISPLAY}',
    )  # fmt: skip
    key = app.cli('apikeys', 'create', '--name', 'schemathesis').strip().split()[-1]
    try:
        app.start()
        assert httpx.get(f'{app.base_url}/openapi.json', timeout=30).json() == OPENAPI
        _customers_write_in(app, key)
        yield Api(app=app, key=key)
    finally:
        app.stop()


def _customers_write_in(app: AppProcess, key: str) -> None:
    for index, customer in enumerate(CUSTOMERS):
        raw = json.dumps(
            build.envelope(
                phone_number_id=PHONE_NUMBER_ID,
                display_phone_number=DISPLAY,
                contacts=[build.contact(wa_id=customer, name=f'Cliente {index}')],
                messages=[build.text_message(from_=customer, body='hola', wa_message_id=f'wamid.SCHEMA{index}')],
            )
        ).encode()
        response = httpx.post(
            f'{app.base_url}/webhooks/whatsapp',
            content=raw,
            headers={'Content-Type': 'application/json', HEADER: sign(raw, SECRET)},
            timeout=30,
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # stored by the ingest (in the worker process on PostgreSQL)
        answer = httpx.get(f'{app.base_url}/api/v1/conversations', headers={'X-API-Key': key}, timeout=30)
        if answer.status_code == 200 and len(answer.json()) == len(CUSTOMERS):
            return
        time.sleep(0.2)
    pytest.fail('the customers were not stored within 120 s', pytrace=False)


# The operations are known when the tests are collected: the schema is the one the app builds (schemathesis' schema
# from a fixture does not run under pytest 9). `api` checks that the running app serves this very document.
OPENAPI = build_http_api(with_simulator=False).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_every_operation_answers_generated_requests_without_a_server_error_and_as_documented(
    case: schemathesis.Case, api: Api
) -> None:
    case.call_and_validate(base_url=api.app.base_url, headers={'X-API-Key': api.key}, checks=CHECKS, timeout=30)
