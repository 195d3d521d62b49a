"""`leadmaster vin …`: VIN from photos: run the OCR pipeline on image files (V1)."""

from __future__ import annotations

import typer

cli = typer.Typer(help='VIN from photos: run the OCR pipeline on image files (V1).', no_args_is_help=True)
