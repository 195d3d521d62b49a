"""`leadmaster quotes …`: Quotes (presupuestos): PDFs (S3)."""

from __future__ import annotations

import typer

cli = typer.Typer(help='Quotes (presupuestos): PDFs (S3).', no_args_is_help=True)
