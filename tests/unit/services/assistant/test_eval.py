"""The rule engine's understanding measured on the labelled es-AR set (eval_dialogues.json): intent and vehicle
accuracy must stay at or above 90 %, and the part a customer asks for must lead to real products."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from services.assistant.engine import HistoryMessage
from services.assistant.nlu import understand
from services.assistant.rules import read_state
from services.catalog import Vehicle, import_products, search_products
from services.catalog.text import words
from services.database import Database
from services.demo.catalog import generate_catalog
from services.models import ProductFitment
from tests.conftest import World

EVAL_SET = json.loads((Path(__file__).parent / 'eval_dialogues.json').read_text(encoding='utf-8'))['dialogues']
TARGET = 0.90


def customer_messages() -> list[tuple[str, dict[str, Any]]]:
    return [
        (dialogue['id'], message)
        for dialogue in EVAL_SET
        for message in dialogue['messages']
        if message.get('sender', 'customer') == 'customer'
    ]


def expected_vehicle(label: dict[str, Any] | None) -> Vehicle | None:
    return Vehicle(make=label.get('make'), model=label.get('model'), year=label.get('year')) if label else None


def found_vehicle(text: str) -> Vehicle | None:
    vehicle = understand(text).vehicle
    if vehicle is None or not (vehicle.known or vehicle.year):
        return None
    return Vehicle(make=vehicle.make, model=vehicle.model, year=vehicle.year)


def singular(part_words: tuple[str, ...]) -> set[str]:
    """'lamparas' and 'lampara' are the same request."""
    return {word[:-1] if word.endswith('s') else word for word in part_words}


def test_the_set_is_big_enough() -> None:
    assert len(EVAL_SET) >= 60
    assert len(customer_messages()) >= 60


def test_intent_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    messages = customer_messages()
    wrong = [
        (dialogue, m['text'], m['intent'], understand(m['text']).intent)
        for dialogue, m in messages
        if understand(m['text']).intent != m['intent']
    ]
    accuracy = 1 - len(wrong) / len(messages)
    with capsys.disabled():
        print(f'\nrule engine intent accuracy: {accuracy:.1%} on {len(messages)} messages; misses: {wrong}')
    assert accuracy >= TARGET, wrong


def test_vehicle_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    """Scored where a vehicle was expected or one was found, so the many vehicle-less messages cannot pad it."""
    scored = [(dialogue, m) for dialogue, m in customer_messages() if m['vehicle'] or found_vehicle(m['text'])]
    wrong = [
        (dialogue, m['text'], m['vehicle'], found_vehicle(m['text']))
        for dialogue, m in scored
        if found_vehicle(m['text']) != expected_vehicle(m['vehicle'])
    ]
    accuracy = 1 - len(wrong) / len(scored)
    with capsys.disabled():
        print(f'\nrule engine vehicle accuracy: {accuracy:.1%} on {len(scored)} messages; misses: {wrong}')
    assert len(scored) >= 40
    assert accuracy >= TARGET, wrong


def test_part_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    labelled = [(dialogue, m) for dialogue, m in customer_messages() if m['part']]
    wrong = [
        (dialogue, m['text'], m['part'], understand(m['text']).part_words)
        for dialogue, m in labelled
        if not singular(words(' '.join(m['part']))) <= singular(understand(m['text']).part_words)
    ]
    accuracy = 1 - len(wrong) / len(labelled)
    with capsys.disabled():
        print(f'\nrule engine part accuracy: {accuracy:.1%} on {len(labelled)} messages; misses: {wrong}')
    assert accuracy >= TARGET, wrong


async def test_every_dialogue_leads_to_matching_products_in_the_demo_catalog(db: Database, world: World) -> None:
    """What each thread established (part + vehicle), searched in the full 10,000-product demo catalog: real
    products of the expected kind, every one fitting the vehicle (or universal)."""
    await import_products(db, generate_catalog(10_000, branch_codes=('SUC1', 'SUC2')))
    checked = 0
    for dialogue in (d for d in EVAL_SET if d.get('products')):
        history = [
            HistoryMessage(message_id=i, sender_kind=m.get('sender', 'customer'), text=m['text'])
            for i, m in enumerate(dialogue['messages'])
        ]
        state = read_state(history)
        vehicle = state.effective_vehicle
        assert vehicle is not None and vehicle.model, dialogue['id']

        result = await search_products(db, query=' '.join(state.need), vehicle=vehicle, limit=5)

        expected = dialogue['products']
        assert result.hits and not result.partial, f'{dialogue["id"]}: nothing for {state.need} / {vehicle}'
        assert all(hit.category == expected['category'] for hit in result.hits), dialogue['id']
        assert result.hits[0].title.startswith(expected['title_prefix']), (dialogue['id'], result.hits[0].title)
        async with db.session() as session:
            fitments = (
                await session.exec(
                    select(
                        ProductFitment.product_id,
                        ProductFitment.model,
                        ProductFitment.year_from,
                        ProductFitment.year_to,
                    ).where(col(ProductFitment.product_id).in_([h.id for h in result.hits]))
                )
            ).all()
        for hit in result.hits:
            own = [f for f in fitments if f[0] == hit.id]
            assert not own or any(
                vehicle.model in model and (vehicle.year is None or start <= vehicle.year <= end)
                for _, model, start, end in own
            ), (dialogue['id'], hit.title)
        checked += 1
    assert checked >= 8
