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

propose_margin: float = 0.02
"""Proposals prefer streets at least this share of each bound inside their bands (2 %:
6.12–7.84 km² inside 6–8), so that next year's growth does not push them out again."""

propose_margin_weight: float = 0.5
"""Cost, in band widths, of each band width a street sits inside that margin: about what
moving one or two communities costs, so the margin is a preference, never a band."""

barrier_buffer_m: float = 30.0
"""A shared boundary counts as running along a barrier where it lies within this distance
(m) of the barrier line: boundaries are drawn along a river's bank or a railway's fence,
not on the centre line OpenStreetMap records."""

barrier_min_cover: float = 0.8
"""Share of a shared boundary that must run along barriers for the two units to be cut
apart (when no walkable way crosses it)."""

# --------------------------------------------------------------------------- level guess

level_guess_min_share: float = 0.6
"""A layer's level is taken from its codes (or its names' endings) only when at least this
share of them agree: a clear majority, so a few odd rows do not decide the level."""

# --------------------------------------------------------------------------- proposals

propose_outside_penalty: float = 1.0
"""Cost of a street outside a band, on top of how far outside it is (in band widths): any
street out of band costs more than moving every community, so bands come first."""

propose_compact_starts: int = 16
"""Compact proposals: seeded starts (spread centres, capacitated assignment, refinement),
as many as the time limit allows."""

propose_compact_iterations: int = 12_000
"""Compact proposals: refinement iterations per start (a work limit, not a time limit).
Measured on the sample (mean / least street compactness of the plan found): 4 starts of
4,000 gave 0.29 / 0.19; 16 of 12,000 give 0.31 / 0.22 within 30 s and 0.32 / 0.22 within
60 s; 4 starts of 400,000 only 0.27 / 0.19 (more starts, not longer refinement, help)."""

propose_recombine_rounds: int = 20
"""Recombination (compact mode, and least change given a ``recombine_weight``): rounds
at most (a work limit; the time limit may stop it first)."""

propose_recombine_tries: int = 60
"""Recombination: splits tried per pair of neighbouring streets and round (a work limit;
a third of that per chain of three)."""

propose_recombine_patience: int = 3
"""Recombination: rounds without gain after which it stops (new splits are drawn each
round, so a round without gain does not mean the next finds nothing)."""

propose_ceiling_rounds: int = 80
"""Alternatives: rounds of column generation estimating how round the streets can be
(:mod:`geo.propose.ceiling`) when the roundest misses the mean target (a work limit)."""

propose_ceiling_seconds: float = 30.0
"""... and the most seconds it may take (the search's time limit when that is less)."""

propose_ceiling_margin: float = 0.01
"""The estimate says a mean target is most likely out of reach only when it stays this
far below it (on the sample it rose by 0.003 in the 120 rounds after its 80th)."""

propose_target_mean_compactness: float = 0.40
"""The roundest alternative aims at this mean Polsby-Popper compactness of its streets."""

propose_target_min_compactness: float = 0.20
"""... and at no street less compact than this."""

propose_target_balanced_compactness: float = 0.35
"""The balanced alternative aims at this mean compactness ..."""

propose_target_balanced_moved_ratio: float = 1.5
"""... moving at most this many times the residents of the fewest-moved alternative."""

propose_compactness_floor: float = 0.45
"""Compactness (Polsby-Popper) below which ``compactness_weight`` starts to cost: long
wedges score about 0.2-0.3, a square 0.79, so only clearly stretched streets pay."""

propose_weight_residents: float = 0.02
"""Cost of moving one community of average population (least change): small beside
:data:`propose_outside_penalty`, so it only ranks plans that meet the bands."""

propose_weight_communities: float = 2e-5
"""Cost per community moved (least change): a tie-breaker between equal numbers of
residents moved."""

propose_weight_shape: float = 0.002
"""Cost per unit of (1 - compactness) in least change: a tie-breaker, so fewer residents
moved always wins over a rounder street."""

propose_weight_shape_scratch: float = 0.05
"""Cost per unit of (1 - compactness) when drawing afresh (and when growing streets anew),
where no one is 'moved' and round streets are what is left to prefer."""

propose_bad_street_bias: float = 0.75
"""Share of the search's moves aimed at a street out of band (the rest anywhere): focus
where it helps, while keeping room to make space elsewhere."""

propose_first_phase_share: float = 0.25
"""Share of the time limit for moving communities one by one before growing streets anew
(least change); the search usually stops on its own well before it."""

propose_regrow_share: float = 0.7
"""Share of the time limit by which growing streets anew must be done, leaving the rest to
move communities back toward the current plan."""

propose_bound_max_variables: int = 1_000_000
"""Largest lower-bound programme (communities × street slots) solved: a city of 2,000
communities and 160 streets is about 330,000 and needs under 1 GB; past this HiGHS needs
several GB (8 GB at 8,000 communities), so the proposal is reported without a bound and
says so."""

elongated_compactness_ratio: float = 0.7
"""A proposal is flagged as having elongated streets when its mean compactness falls below
this share of the plan it started from (a 30 % drop is visible on the map)."""

# --------------------------------------------------------------------------- siting

siting_max_exact_nonzeros: int = 200_000
"""Largest integer programme (nonzeros after aggregation) solved exactly by default: HiGHS
solves these within seconds on two cores; larger ones go greedy with a bound."""

siting_max_lp_nonzeros: int = 5_000_000
"""Largest linear-programming relaxation solved for the greedy bound (memory stays under
about 2 GB)."""

siting_time_limit_s: float = 60.0
"""Default time limit of each HiGHS solve, seconds: what a planner waits for at the desk."""

siting_mip_rel_gap: float = 1e-6
"""Relative optimality gap at which HiGHS stops (1 resident in a million)."""

upload_max_mb: int = 100
"""Cap on the files uploaded to the app at once, in MB of 1,048,576 bytes (Streamlit's own
unit; keep ``server.maxUploadSize`` in ``.streamlit/config.toml`` the same)."""

upload_keep_days: float = 1.0
"""Upload folders in the project folder's ``uploads/`` older than this are removed when
the next upload arrives (a browser tab gives no sign when it closes)."""

# ------------------------------------------------------------------------ editor map

map_detail_zoom: int = 14
"""From this zoom level in (about 8 m a screen pixel) the editor's map draws blocks and
street outlines simplified to the finest drawing tolerance instead of the whole-district one."""

map_detail_factor: float = 1.5
"""The finer outlines are sent only when the whole-district tolerance is at least this many
times the finest one (a city, not a district that already fits the screen)."""
