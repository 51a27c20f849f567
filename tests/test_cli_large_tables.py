"""``wangge check`` on a long unit table prints it as plain aligned text, every unit kept."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

import geo.cli._common as cli

runner = CliRunner()
STATUSES = ("ok", "outside", "no rule", "no data")


def _from_column(line: str, col: int) -> str:
    """Return what ``line`` shows from display column ``col`` on (Chinese counts 2)."""
    width = 0
    for i, ch in enumerate(line):
        if width >= col:
            return line[i:]
        width += cell_len(ch)
    return ""


@pytest.mark.parametrize("limit", [0, 10_000])
def test_long_tables_print_plain_with_every_unit_and_aligned(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Beyond ``PLAIN_TABLE_ROWS`` a level prints without rich's layout (seconds per
    thousand rows): one line a unit, the status column at one display column."""
    monkeypatch.setattr(cli, "PLAIN_TABLE_ROWS", limit)
    res = runner.invoke(cli.app, ["check", "--show", "grid"])
    assert res.exit_code in (0, 1), res.output
    lines = res.output.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("grid level"))
    if limit:  # under the limit: rich's box table as before
        assert "┃ code" in lines[head + 2]
        return
    heading = lines[head + 1]
    assert heading.split() == [
        "code", "name", "kind", "area", "km²", "population", "households", "status"
    ]
    status_at = cell_len(heading[: heading.index("status")])
    rows = lines[head + 2: head + 2 + 1088]
    assert all(r[:14].isdigit() for r in rows)  # 1,088 grids, one line each
    assert not lines[head + 2 + 1088][:14].isdigit()
    for r in rows:
        assert _from_column(r, status_at).split(" (")[0] in STATUSES, r
