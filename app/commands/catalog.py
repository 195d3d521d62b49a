"""`leadmaster catalog …`: The product catalog: import JSON/CSV (S1)."""

from __future__ import annotations

import typer

cli = typer.Typer(help='The product catalog: import JSON/CSV (S1).', no_args_is_help=True)
