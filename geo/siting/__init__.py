"""Siting: where new facilities would bring the most residents within walking reach.

- :mod:`~geo.siting.api` — :func:`~geo.siting.api.propose_sites` (a district, its
  facilities, network and candidates in; sites, tables and findings out),
  :func:`~geo.siting.api.run_siting` (the same from paths) and
  :func:`~geo.siting.api.write_sites`.
- :mod:`~geo.siting.candidates` — candidate sites (from a layer, buildings or a
  lattice), residents as points, and who each candidate reaches.
- :mod:`~geo.siting.cover` — the array core: :func:`~geo.siting.cover.maximal_cover`
  and :func:`~geo.siting.cover.min_sites_for_share`.
- :mod:`~geo.siting.solvers` — the covering model and how it is solved: HiGHS
  (MILP and LP, through scipy), lazy greedy, capacity assignment.
"""
