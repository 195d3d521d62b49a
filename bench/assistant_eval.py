"""Assistant evaluation (issue 18): labelled customer dialogues replayed through the configured assistant engine
(the rules, or the LLM when LEADMASTER_LLM_API_KEY is set) by the same code as `leadmaster assistant replay`
(services/assistant/replay.py), on a fresh SQLite database with the demo data (branches, 10,000-product catalog).

Figures:
- answered: turns that got a reply or a handoff to a person, of all turns (target 100 %);
- wrong years: turns after which the summary shows a year the dialogue never meant (target 0) — a price, a
  distance, an engine size or a quantity read as a year is the defect this counts;
- make+model accuracy: dialogues whose final summary has the expected make and model, of those where a vehicle
  was expected or one was found (target ≥ 90 %); year accuracy likewise for the year (target ≥ 90 %);
- handoff when asked: dialogues where the turn the customer asks for a person hands off (target 100 %);
- handoff agreement: dialogues that reached a person exactly when they should (reported, not a target);
- p50/p95 latency of a turn (the engine's answer plus the summary).

Run: `.venv/bin/python bench/assistant_eval.py [--dialogues PATH] [--catalog-size N]`. The dialogue file is
`{"dialogues": [{"id", "branch", "messages": [...], "expect": {"make", "model", "year", "handoff",
"person_asked_at", "also_years"}}]}` (bench/data/assistant_dialogues.json). Prints every miss, then one JSON line
`{"bench": "assistant_eval", ...}`; exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.commands.assistant import engine_from_settings  # noqa: E402
from app.database import upgrade_to_head  # noqa: E402
from app.settings import Settings  # noqa: E402
from services.assistant.replay import ReplayedTurn, parse_dialogue, replay  # noqa: E402
from services.database import Database  # noqa: E402
from services.demo.seed import seed_demo  # noqa: E402

DEFAULT_DIALOGUES = REPO_ROOT / 'bench' / 'data' / 'assistant_dialogues.json'
TARGETS = {'answered': 1.0, 'wrong_years': 0, 'make_model': 0.9, 'year': 0.9, 'handoff_when_asked': 1.0}


@dataclass(frozen=True)
class Expected:
    make: str | None
    model: str | None
    year: int | None
    handoff: bool
    person_asked_at: int | None
    also_years: frozenset[int]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Expected:
        return cls(
            make=raw.get('make'),
            model=raw.get('model'),
            year=raw.get('year'),
            handoff=bool(raw.get('handoff')),
            person_asked_at=raw.get('person_asked_at'),
            also_years=frozenset(raw.get('also_years') or ()),
        )


def _same(found: str | None, expected: str | None) -> bool:
    return (found or '').casefold() == (expected or '').casefold()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def score(  # noqa: PLR0912 - one pass over the dialogues, figure by figure
    dialogues: list[tuple[str, Expected, list[ReplayedTurn]]],
) -> tuple[dict[str, Any], list[str]]:
    """The figures and one line per miss."""
    misses: list[str] = []
    turns = [turn for _, _, replayed in dialogues for turn in replayed]
    answered = sum(1 for turn in turns if turn.reply or turn.handoff)
    for name, _, replayed in dialogues:
        misses += [f'{name} turn {t.turn}: no reply and no handoff' for t in replayed if not (t.reply or t.handoff)]
    wrong_years = 0
    make_model_scored = make_model_right = year_scored = year_right = 0
    asked = asked_right = handoff_right = 0
    for name, expected, replayed in dialogues:
        allowed = {expected.year, *expected.also_years} - {None}
        for turn in replayed:
            year = turn.summary.vehicle.year if turn.summary.vehicle else None
            if year is not None and year not in allowed:
                wrong_years += 1
                misses.append(f'{name} turn {turn.turn}: wrong year {year} after {turn.customer!r}')
        final = replayed[-1].summary.vehicle
        make, model, year = (final.make, final.model, final.year) if final else (None, None, None)
        if expected.model or model:
            make_model_scored += 1
            if _same(make, expected.make) and _same(model, expected.model):
                make_model_right += 1
            else:
                misses.append(f'{name}: vehicle {make} {model}, expected {expected.make} {expected.model}')
        if expected.year or year:
            year_scored += 1
            if year == expected.year:
                year_right += 1
            else:
                misses.append(f'{name}: year {year}, expected {expected.year}')
        if expected.person_asked_at is not None:
            asked += 1
            at = expected.person_asked_at
            if at <= len(replayed) and replayed[at - 1].handoff:
                asked_right += 1
            else:
                misses.append(f'{name}: no handoff when the customer asked for a person (turn {at})')
        handed_off = any(turn.handoff for turn in replayed)
        if handed_off == expected.handoff:
            handoff_right += 1
        else:
            misses.append(f'{name}: handoff {handed_off}, expected {expected.handoff}')
    seconds = [turn.seconds for turn in turns]
    figures = {
        'dialogues': len(dialogues),
        'turns': len(turns),
        'answered_pct': round(100 * answered / len(turns), 1) if turns else 0.0,
        'wrong_years': wrong_years,
        'make_model_pct': round(100 * make_model_right / make_model_scored, 1) if make_model_scored else 100.0,
        'make_model_scored': make_model_scored,
        'year_pct': round(100 * year_right / year_scored, 1) if year_scored else 100.0,
        'year_scored': year_scored,
        'handoff_when_asked_pct': round(100 * asked_right / asked, 1) if asked else 100.0,
        'handoff_asked': asked,
        'handoff_agreement_pct': round(100 * handoff_right / len(dialogues), 1) if dialogues else 0.0,
        'turn_p50_ms': round(1000 * percentile(seconds, 0.50), 1),
        'turn_p95_ms': round(1000 * percentile(seconds, 0.95), 1),
    }
    return figures, misses


def targets_met(figures: dict[str, Any]) -> bool:
    return (
        figures['answered_pct'] >= 100 * TARGETS['answered']
        and figures['wrong_years'] <= TARGETS['wrong_years']
        and figures['make_model_pct'] >= 100 * TARGETS['make_model']
        and figures['year_pct'] >= 100 * TARGETS['year']
        and figures['handoff_when_asked_pct'] >= 100 * TARGETS['handoff_when_asked']
    )


def load(path: Path) -> list[tuple[str, Any, Expected]]:
    raw = json.loads(path.read_text(encoding='utf-8'))
    items = raw['dialogues'] if isinstance(raw, dict) else raw
    return [
        (item.get('id', f'dialogue-{index}'), parse_dialogue(item), Expected.of(item.get('expect') or {}))
        for index, item in enumerate(items, start=1)
    ]


async def run(path: Path, catalog_size: int) -> int:
    dialogues = load(path)
    with tempfile.TemporaryDirectory(prefix='assistant-eval-') as work:
        db = Database.from_url(f'sqlite+aiosqlite:///{Path(work) / "eval.sqlite3"}')
        try:
            await upgrade_to_head(db)
            await seed_demo(db, password='assistant-eval', catalog_size=catalog_size)
            engine = engine_from_settings(db, Settings())
            results = []
            try:
                for name, dialogue, expected in dialogues:
                    results.append((name, expected, await replay(db, engine, dialogue)))
            finally:
                close = getattr(engine, 'aclose', None)
                if close is not None:
                    await close()
        finally:
            await db.dispose()
    figures, misses = score(results)
    for miss in misses:
        print(f'miss: {miss}')
    print(
        f'{figures["dialogues"]} dialogues, {figures["turns"]} turns, engine {engine.name}\n'
        f'answered {figures["answered_pct"]} % of turns (target 100 %)\n'
        f'wrong years: {figures["wrong_years"]} (target 0)\n'
        f'make+model accuracy {figures["make_model_pct"]} % of {figures["make_model_scored"]} (target ≥ 90 %)\n'
        f'year accuracy {figures["year_pct"]} % of {figures["year_scored"]} (target ≥ 90 %)\n'
        f'handoff when asked {figures["handoff_when_asked_pct"]} % of {figures["handoff_asked"]} (target 100 %)\n'
        f'handoff agreement {figures["handoff_agreement_pct"]} % (reported)\n'
        f'turn latency p50 {figures["turn_p50_ms"]} ms, p95 {figures["turn_p95_ms"]} ms'
    )
    met = targets_met(figures)
    print(json.dumps({'bench': 'assistant_eval', 'engine': engine.name, 'dialogues_file': str(path), **figures,
                      'targets_met': met}))  # fmt: skip
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dialogues', type=Path, default=DEFAULT_DIALOGUES, help='the labelled dialogues (JSON)')
    parser.add_argument('--catalog-size', type=int, default=10_000, help='products in the demo catalog')
    args = parser.parse_args()
    return asyncio.run(run(args.dialogues, args.catalog_size))


if __name__ == '__main__':
    sys.exit(main())
