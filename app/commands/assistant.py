"""`leadmaster assistant …`: replay a customer's side of a conversation through the configured assistant engine
(issue 18), against the catalog of the configured database, sending nothing (services/assistant/replay.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.commands import run_job
from app.settings import Settings
from services.assistant import AssistantEngine, make_engine
from services.assistant.replay import ReplayedTurn, read_dialogue, replay
from services.database import Database
from services.errors import InvalidInput
from services.secrets import with_stored_secrets

cli = typer.Typer(help='The AI assistant: replay dialogues through the engine (A1–A3).', no_args_is_help=True)


def engine_from_settings(db: Database, settings: Settings) -> AssistantEngine:
    """The engine the app would answer with: the LLM's when a key is configured (falling back to the rules per
    turn), else the rules."""
    return make_engine(
        db,
        llm_api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        llm_base_url=settings.llm_base_url,
        llm_model=settings.llm_model,
        llm_timeout_seconds=settings.llm_timeout_seconds,
    )


def _summary_line(turn: ReplayedTurn) -> str:
    summary = turn.summary
    parts = [summary.vehicle.label() if summary.vehicle else 'sin vehículo']
    if summary.vin:
        parts.append(f'VIN {summary.vin}')
    if summary.products:
        parts.append(f'{len(summary.products)} producto(s): ' + ', '.join(p.sku for p in summary.products))
    parts.append(f'intención {summary.intent}')
    parts.append(f'etapa {summary.stage}')
    return ' · '.join(parts)


def _transcript(turn: ReplayedTurn) -> str:
    lines = [f'[{turn.turn}] Cliente: {turn.customer}']
    reply = (turn.reply or '(sin respuesta)').replace('\n', '\n               ')
    lines.append(f'    Asistente: {reply}')
    if turn.handoff:
        lines.append(f'    → pasa a un vendedor ({turn.handoff_reason})')
    lines.append(f'    Resumen: {_summary_line(turn)}')
    return '\n'.join(lines)


@cli.command('replay')
def replay_command(
    file: Annotated[Path, typer.Argument(help='JSON file: {"branch": "SUC1", "messages": ["customer turn", ...]}')],
    as_json: Annotated[
        bool, typer.Option('--json', help='One JSON object per customer turn: turn, reply, handoff, summary')
    ] = False,
) -> None:
    """Answer each customer turn with the configured engine (the LLM's when LEADMASTER_LLM_API_KEY is set, else
    the rules) and print the reply, the handoff and the summary after it. Nothing is sent or stored."""
    try:
        dialogue = read_dialogue(file)
    except InvalidInput as exc:
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(1) from exc
    settings = Settings()

    async def work(db: Database) -> list[ReplayedTurn]:
        # An LLM key kept only in the encrypted store (`leadmaster secrets set llm_api_key`) counts too.
        engine = engine_from_settings(db, await with_stored_secrets(db, settings))
        try:
            return await replay(db, engine, dialogue)
        finally:
            close = getattr(engine, 'aclose', None)
            if close is not None:
                await close()

    for turn in run_job(work, settings=settings):
        typer.echo(json.dumps(turn.as_json(), ensure_ascii=False) if as_json else _transcript(turn))
