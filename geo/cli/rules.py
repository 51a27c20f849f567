"""``wangge rules list`` / ``wangge rules show NAME``: the rulebooks shipped with wangge."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.exceptions
from rich.markup import escape
from rich.table import Table

from geo.cli._common import _fail, app, load_rulebook, out
from geo.errors import InputError, WanggeError

# ------------------------------------------------------------------ wangge rules

rules_app = typer.Typer(
    help="The rulebooks shipped with wangge: list them, show one's rules with sources.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


@rules_app.command(name="list")
def rules_list() -> None:
    """List the preset rulebooks (use a name with --rules NAME)."""
    from geo import settings
    from geo.rules.rulebook import list_presets

    table = Table(show_edge=False, header_style="bold")
    for col in ("name", "rulebook", "规则集", "what it holds"):
        table.add_column(col)
    for p in list_presets():
        table.add_row(p.name, escape(p.title), escape(p.title_zh), escape(p.description))
    out.print(table)
    out.print(f"default: {settings.default_rulebook}; show one with `wangge rules show NAME`.")


@rules_app.command(name="show")
def rules_show(
    name: Annotated[str, typer.Argument(help="A preset name (wangge rules list) or a TOML path.")],
    lang: Annotated[str, typer.Option("--lang", help="Language: zh or en.")] = "en",
    toml: Annotated[
        bool, typer.Option("--toml", help="Print the preset's TOML, to copy and edit.")
    ] = False,
) -> None:
    """Print every rule, default, category and facility figure with its value, source and status."""
    from geo.rules.rulebook import preset_text, rulebook_table

    if lang not in ("zh", "en"):
        _fail(InputError(f"--lang takes zh or en, not {lang!r}."))
    try:
        rulebook = load_rulebook(name)
        if toml:
            path = Path(name)
            sys.stdout.write(path.read_text("utf-8") if path.is_file() else preset_text(name))
            return
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    title = rulebook.name_zh if lang == "zh" and rulebook.name_zh else rulebook.name
    out.print(f"[bold]{escape(title)}[/bold] ({escape(rulebook.preset or rulebook.path)})")
    frame = rulebook_table(rulebook, lang=lang)
    table = Table(show_edge=False, header_style="bold", show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)
