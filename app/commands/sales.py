"""`leadmaster sales …`: Sales: daily reports as CSV (S4)."""

from __future__ import annotations

import typer

cli = typer.Typer(help='Sales: daily reports as CSV (S4).', no_args_is_help=True)
