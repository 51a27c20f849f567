"""``wangge app``: start the browser app."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.exceptions

from geo.cli._common import _fail, app
from geo.errors import WanggeError


@app.command(name="app")
def run_app(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
) -> None:
    """Start the browser app (Streamlit) on the built-in sample district."""
    root = Path(__file__).resolve().parents[2]
    entry = root / "app.py"
    if not entry.exists():
        _fail(WanggeError(f"The app's entry point {entry} is missing; run from a source checkout."))
    os.chdir(root)
    os.execvp(
        sys.executable,
        [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port)],
    )
