"""``wangge sample OUT_DIR``: write the built-in (fictional) sample district."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.exceptions

from geo.cli._common import _fail, app, out
from geo.errors import WanggeError


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sample district into.")],
    seed: Annotated[
        int | None, typer.Option(help="Seed; the default gives the built-in sample.")
    ] = None,
) -> None:
    """Write the built-in sample district (fictional) as GeoPackage and GeoJSON."""
    from geo.sample.write import write_sample

    try:
        files = write_sample(out_dir, seed=seed)
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    for f in files:
        out.print(str(f))
