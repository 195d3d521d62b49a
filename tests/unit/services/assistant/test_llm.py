"""The LLM engine against a fake OpenAI-compatible server over real HTTP: tool calls, errors and timeouts (which
fall back to the rule engine for that turn)."""

from __future__ import annotations

import time
from typing import Any

from services.assistant import HANDOFF_CUSTOMER_ASKED, LLMEngine
from services.assistant.engine import AssistantTools, HistoryMessage, TurnContext
from services.catalog.formats import CatalogProduct
from services.database import Database
from tests.conftest import World
from tests.fakes.openai_server import DEFAULT_KEY, Delay, FakeOpenAI, Text, ToolCall, ToolCalls, tool_results


def engine_for(db: Database, fake: FakeOpenAI, *, timeout: float = 5.0) -> LLMEngine:
    return LLMEngine(
        AssistantTools(db), base_url=fake.base_url, api_key=DEFAULT_KEY, model='test/model', timeout_seconds=timeout
    )


def customer_turn(world: World, text: str) -> TurnContext:
    message = HistoryMessage(message_id=1, sender_kind='customer', text=text)
    return TurnContext(
        conversation_id=1,
        branch_id=world.central.id or 0,
        branch_name='Casa Central',
        customer_name='Martín',
        history=[message],
        new_messages=[message],
    )


async def test_a_tool_call_round_trip_answers_with_real_catalog_products(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    def answer_from_the_tool_result(body: dict[str, Any]) -> Text:
        first = tool_results(body)[0]['products'][0]
        return Text(
            f'Tengo {first["title"]} a $ {first["price_ars_with_iva"]}. SKU {first["sku"]}. También SKU INVENTADO-1.'
        )

    fake_openai.script(
        [
            ToolCalls(
                [
                    ToolCall(
                        'search_catalog',
                        {'query': 'pastillas de freno', 'make': 'Volkswagen', 'model': 'Gol Trend', 'year': 2015},
                    )
                ]
            ),
            answer_from_the_tool_result,
        ]
    )
    engine = engine_for(db, fake_openai)

    reply = await engine.reply(customer_turn(world, 'pastillas de freno para gol trend 2015'))
    await engine.aclose()

    assert reply.engine == 'llm' and 'fallback' not in reply.detail
    first_request, second_request = fake_openai.requests
    assert first_request['model'] == 'test/model'
    assert {tool['function']['name'] for tool in first_request['tools']} == {
        'search_catalog',
        'decode_vin',
        'check_stock',
        'hand_over_to_human',
    }
    assert first_request['messages'][-1] == {'role': 'user', 'content': 'pastillas de freno para gol trend 2015'}
    results = tool_results(second_request)[0]['products']
    skus = {
        p.sku
        for p in catalog
        if p.title.startswith('Pastillas de freno')
        and any(f.model == 'Gol Trend' and f.year_from <= 2015 <= f.year_to for f in p.fitments)
    }
    assert results and {item['sku'] for item in results} <= skus
    # The model's text reaches the customer; only SKUs a tool returned count as proposed products.
    assert reply.products == [results[0]['sku']]
    assert reply.detail['tool_calls'][0]['name'] == 'search_catalog'


async def test_the_model_handing_over_is_reported(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        [ToolCalls([ToolCall('hand_over_to_human', {'reason': 'customer_asked'})]), Text('Ya te paso con un vendedor.')]
    )

    reply = await engine_for(db, fake_openai).reply(customer_turn(world, 'quiero hablar con alguien'))

    assert reply.engine == 'llm' and reply.handoff == HANDOFF_CUSTOMER_ASKED
    assert reply.text == 'Ya te paso con un vendedor.'


async def test_a_server_error_falls_back_to_the_rule_engine(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    fake_openai.script([500])

    reply = await engine_for(db, fake_openai).reply(customer_turn(world, 'pastillas de freno gol trend 2015'))

    assert reply.engine == 'rules'
    assert 'InternalServerError' in reply.detail['fallback']
    assert reply.products  # the customer still got an answer with products
    assert len(fake_openai.requests) == 1  # no SDK retries: the turn's budget is one call


async def test_a_timeout_falls_back_to_the_rule_engine_within_the_budget(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    fake_openai.script([Delay(10.0), Text('demasiado tarde')])
    started = time.monotonic()

    reply = await engine_for(db, fake_openai, timeout=0.5).reply(customer_turn(world, 'quiero hablar con una persona'))

    assert time.monotonic() - started < 5
    assert reply.engine == 'rules' and 'Timeout' in reply.detail['fallback']
    assert reply.handoff == HANDOFF_CUSTOMER_ASKED


async def test_a_wrong_api_key_falls_back(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    engine = LLMEngine(
        AssistantTools(db), base_url=fake_openai.base_url, api_key='sk-wrong', model='m', timeout_seconds=5
    )

    reply = await engine.reply(customer_turn(world, 'hola'))

    assert reply.engine == 'rules' and 'AuthenticationError' in reply.detail['fallback']


async def test_a_malformed_tool_call_falls_back(
    db: Database, world: World, catalog: list[CatalogProduct], fake_openai: FakeOpenAI
) -> None:
    fake_openai.script([ToolCalls([ToolCall('format_disk', {})])])

    reply = await engine_for(db, fake_openai).reply(customer_turn(world, 'hola'))

    assert reply.engine == 'rules' and 'unknown tool' in reply.detail['fallback']
