"""`leadmaster config` (being built)."""

from __future__ import annotations

import typer

cli = typer.Typer(help='(being built)', no_args_is_help=True)
