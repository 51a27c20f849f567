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

# --------------------------------------------------------------------------- level guess

level_guess_min_share: float = 0.6
"""A layer's level is taken from its codes (or its names' endings) only when at least this
share of them agree: a clear majority, so a few odd rows do not decide the level."""

# --------------------------------------------------------------------------- proposals

propose_outside_penalty: float = 1.0
"""Cost of a street outside a band, on top of how far outside it is (in band widths): any
street out of band costs more than moving every community, so bands come first."""

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
