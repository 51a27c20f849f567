"""Typed, documented defaults.

Functions take these only when the matching argument is ``None``; change them
here for a whole session (``geo.settings.gap_tolerance_m2 = 50``) or pass the
argument to one call.
"""

from __future__ import annotations

from pathlib import Path

data_dir: Path = Path(__file__).resolve().parent.parent / "data"
"""Folder holding ``rules/`` and ``sample/``."""

default_rulebook: Path = data_dir / "rules" / "default.toml"
"""Rulebook used when none is given: the Qingdao 2017 street guideline plus national norms."""

sliver_tolerance_m2: float = 1.0
"""Overlaps and gaps smaller than this (m²) are treated as digitising noise and not reported."""

straddle_min_share: float = 0.01
"""A unit is reported as straddling parents only if at least this share of its area
lies outside its main parent (0.01 = 1 %)."""

outside_tolerance_m: float = 1.0
"""Buffer (m) a parent is widened by before asking whether a child lies inside it."""

household_size: float = 2.62
"""Average persons per household, used to derive households from population or back
when a rulebook does not set its own (urban China, 2020 census)."""

zip_max_uncompressed_bytes: int = 1024 * 1024 * 1024
"""Cap on the total size a zip archive may expand to (1 GiB)."""

zip_max_ratio: float = 200.0
"""Cap on an archive member's uncompressed / compressed size ratio (zip-bomb guard)."""

zip_max_members: int = 10_000
"""Cap on the number of members in a zip archive."""

sample_seed: int = 20170419
"""Seed of the built-in sample district (the guideline paper's date)."""

upload_max_mb: int = 100
"""Cap on the files uploaded to the app at once, in MB of 1,048,576 bytes (Streamlit's own
unit; keep ``server.maxUploadSize`` in ``.streamlit/config.toml`` the same)."""

upload_keep_days: float = 1.0
"""Upload folders in the project folder's ``uploads/`` older than this are removed when
the next upload arrives (a browser tab gives no sign when it closes)."""
