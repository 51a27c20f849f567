"""Access to services: the walking network, residents as points, coverage and audits.

- :mod:`~geo.access.network` — :class:`~geo.access.network.WalkNetwork` (CSR arrays),
  read from OSM, snapped to, saved and loaded.
- :mod:`~geo.access.population` — residents split over buildings or a lattice.
- :mod:`~geo.access.reach` — the array core: distances to the nearest facility, catchments,
  2SFCA floor area, straight-line reach; snapping to the network and refusing one that
  misses the district.
- :mod:`~geo.access.coverage` — :func:`~geo.access.coverage.audit_coverage` in named steps
  (who lives within reach of each facility type, floor area against the norms), the
  facilities read in, service areas.
- :mod:`~geo.access.unit_tables` — the audit's per-unit tables, judged against the norms.
- :mod:`~geo.access.summaries` — the audit's facility, type, category and benchmark tables.
- :mod:`~geo.access.audit` — putting an audit together from paths and choices.
- :mod:`~geo.access.service_area` — the streets within walking reach, as lines cut at
  the radius (the report's map; linear in the network).
- :mod:`~geo.access.street_coverage` — per-community reach summed over a plan's streets
  (the editor's coverage column: no new audit per move).
"""
