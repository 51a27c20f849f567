"""Typed, documented defaults.

Functions take these only when the matching argument is ``None``; change them
here for a whole session (``geo.settings.gap_tolerance_m2 = 50``) or pass the
argument to one call.
"""

from __future__ import annotations

default_rulebook: str = "qingdao-2017"
"""Rulebook used when none is given: a preset name (``wangge rules list``) or a TOML path.
The default is the Qingdao 2017 street guideline plus national norms."""

sliver_tolerance_m2: float = 1.0
"""Overlaps and gaps smaller than this (m²) are treated as digitising noise and not reported."""

sliver_width_m: float = 0.5
"""Gaps and overlaps thinner than this on average (m) are slivers, not reported: the
traces of rounded coordinates (a GeoJSON export keeps 7 decimals, ~1 cm) or of a straight
edge reprojected, however long they run."""

straddle_min_share: float = 0.01
"""A unit is reported as straddling parents only if at least this share of its area
lies outside its main parent (0.01 = 1 %)."""

outside_tolerance_m: float = 1.0
"""Buffer (m) a parent is widened by before asking whether a child lies inside it."""

household_size: float = 2.62
"""Average persons per household, used to derive households from population or back
when a rulebook does not set its own (national average family household, all of China,
2020 census; not an urban figure)."""

zip_max_uncompressed_bytes: int = 1024 * 1024 * 1024
"""Cap on the total size a zip archive may expand to (1 GiB)."""

zip_max_ratio: float = 200.0
"""Cap on an archive member's uncompressed / compressed size ratio (zip-bomb guard)."""

zip_max_members: int = 10_000
"""Cap on the number of members in a zip archive."""

sample_seed: int = 20170419
"""Seed of the built-in sample district (the guideline paper's date)."""

band_precision: dict[str, int] = {
    "area_km2": 2,
    "population": 0,
    "households": 0,
    "density_per_km2": 0,
}
"""Decimals each banded measure is shown and compared with: a street shown as 6.00 km²
or 80,000 residents is in a 6–8 km² or 80,000–120,000 band, as a planner reads it."""

area_max_distortion: float = 1e-4
"""Largest relative area error accepted from the metric CRS (0.01 %): beyond it an
equal-area projection fitted to the data is used (a UTM zone distorts areas by up to
0.08 % even at its central meridian)."""

# --------------------------------------------------------------------------- coverage audit

audit_detour: float = 1.3
"""Without a walking network, walking distance ≈ straight-line distance × this factor.
1.3 is the usual circuity of urban street grids (network ÷ straight-line distance is
about 1.2–1.4 in dense cities); any value must be ≥ 1, as no walk is shorter than the
straight line."""

audit_search_factor: float = 3.0
"""Walking distances are searched up to this multiple of a facility type's service
radius. Residents farther than that are "beyond the search limit": their exact distance
is not needed to know they are not served, and stopping there keeps a city-wide audit
fast. Medians and maxima that fall beyond it are shown as "> limit", never as a number."""

audit_short_share: float = 0.5
"""A unit is reported as short of a facility type when fewer than this share of its
residents live within the service radius (0.5: most of its residents are not served)."""

audit_facility_max_snap_m: float = 500.0
"""A facility farther than this (m) from the nearest walkable way is reported as outside
the network (the gap is still counted as walking)."""

audit_resident_max_snap_m: float = 250.0
"""Residents farther than this (m) from the nearest walkable way are reported: their last
stretch is counted as straight-line walking, and beyond about half a 10-minute life
circle's radius that guess dominates their distance, which usually means missing
footways or a network that stops short of them."""

audit_network_min_reach_share: float = 0.5
"""If the walking network reaches (within :data:`audit_resident_max_snap_m`) less than
this share of the residents, the audit refuses the network as not covering the district:
a report would describe the network's extent, not the services."""

