"""`leadmaster vin …`: VIN from photos: run the OCR pipeline on image files (V1)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from app.settings import Settings
from services.vin.pipeline import VinResult
from services.vin.runner import VinReader

cli = typer.Typer(help='VIN from photos: run the OCR pipeline on image files (V1).', no_args_is_help=True)


def _vehicle_label(result: VinResult) -> str | None:
    return (result.vehicle or {}).get('label') or None


async def _read_all(paths: list[Path], *, engine: str, workers: int, seconds_per_image: float) -> list[VinResult | str]:
    """A result per path, or the reason the file could not be read (the others are still read)."""
    reader = VinReader(engine=engine, workers=workers, timeout_seconds=seconds_per_image)
    try:

        async def one(path: Path) -> VinResult | str:
            try:
                content = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                return f'{exc.strerror or exc}'
            return await reader.read(content)

        return list(await asyncio.gather(*(one(path) for path in paths)))
    finally:
        await reader.aclose()


@cli.command('read')
def read(
    images: Annotated[list[Path], typer.Argument(help='Image files (JPEG, PNG, WebP…)')],
    as_json: Annotated[
        bool, typer.Option('--json', help='One JSON object per line: file, vin, status, vehicle, seconds')
    ] = False,
    engine: Annotated[
        Literal['tesseract', 'rapidocr'] | None, typer.Option(help='OCR engine (default: LEADMASTER_VIN_OCR_ENGINE)')
    ] = None,
) -> None:
    """Read the VIN of each image: one line per image — file, VIN or '-', verified/unverified/none, vehicle,
    seconds. Exits with 1 if a file could not be read (the other files are still read and printed)."""
    settings = Settings()
    try:
        results = asyncio.run(
            _read_all(
                images,
                engine=engine or settings.vin_ocr_engine,
                workers=settings.vin_workers,
                seconds_per_image=settings.vin_timeout_seconds,
            )
        )
    except RuntimeError as exc:  # e.g. RapidOCR chosen but not installed
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(2) from exc
    failed = False
    for path, result in zip(images, results, strict=True):
        if isinstance(result, str) or (result.error and result.error != 'timeout' and not result.candidates):
            reason = result if isinstance(result, str) else result.error
            typer.secho(f'error: {path}: {reason}', err=True, fg='red')
            failed = True
        if isinstance(result, str):
            continue
        vehicle = _vehicle_label(result)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        'file': str(path),
                        'vin': result.vin,
                        'status': str(result.status),
                        'vehicle': vehicle,
                        'seconds': round(result.seconds, 3),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(
                '\t'.join([str(path), result.vin or '-', str(result.status), vehicle or '-', f'{result.seconds:.2f}'])
            )
    if failed:
        raise typer.Exit(1)
