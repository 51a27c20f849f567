"""Proposals: street plans that meet the bands, how good they are and why each move.

- :mod:`~geo.propose.search` — :func:`~geo.propose.search.propose_plan` and the least-change
  search; its parts: :mod:`~geo.propose.state` (bands as arrays, the problem, the live
  plan and what a move costs), :mod:`~geo.propose.moves` (local search: annealing,
  descent, chains, ruin and recreate, repairing pieces), :mod:`~geo.propose.grow`
  (splitting, merging and growing streets; the search from scratch) and
  :mod:`~geo.propose.diagnose` (why a district cannot be proposed; findings after).
- :mod:`~geo.propose.compact` — round streets by design: spread centres, a capacitated
  assignment (HiGHS), in-band refinement; why a compactness target is missed.
- :mod:`~geo.propose.recombine` — redraw pairs (and chains of three) of neighbouring
  streets, then pick the best mix exactly (set partitioning, HiGHS).
- :mod:`~geo.propose.alternatives` — a small Pareto set (fewest moved … roundest).
- :mod:`~geo.propose.bound` — a lower bound on residents moved (HiGHS) and the
  reason for each move.
- :mod:`~geo.propose.barriers` — rivers, railways and expressways that cut
  contiguity.
"""
