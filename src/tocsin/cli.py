"""The ``tocsin`` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="Tocsin incident management", no_args_is_help=True)


def main() -> None:
    app()
