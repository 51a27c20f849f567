"""``wangge --help`` and each command's help start without the heavy libraries.

A command imports what it needs when it runs (issue: start-up ≤ 0.5 s); this
fails when a module-level import drags pandas, geopandas or shapely into the
help path again. Measured in a fresh interpreter, not timed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "geopandas", "shapely", "pyproj", "networkx", "scipy", "streamlit")

PROBE = """
import sys
from geo.cli import main
sys.argv = ["wangge", *{args!r}]
try:
    main()
except SystemExit:
    pass
print("LOADED", *sorted(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["audit", "--help"],
                                  ["propose", "--help"]])
def test_help_imports_no_heavy_library(args):
    r = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    loaded = r.stdout.strip().splitlines()[-1].split()[1:]
    assert loaded == [], f"wangge {' '.join(args)} imported {loaded}"
    assert "Usage" in r.stdout
