"""The built-in, entirely fictional sample district and its services, deterministic by seed.

- :mod:`~geo.sample.build` — :func:`~geo.sample.build.sample_district` and
  :func:`~geo.sample.build.sample_services`: the construction, step by step, and the
  layers assembled (codes, names, geometry).
- :mod:`~geo.sample.design` — the constants, the planned street-level units, the names,
  :data:`~geo.sample.design.FACILITY_TYPES` and the file names.
- :mod:`~geo.sample.geometry` — the outline, grid cells, and grids grouped into streets
  and communities by power diagrams, made contiguous.
- :mod:`~geo.sample.population` — the density field, planned per street, and residents
  and households per grid.
- :mod:`~geo.sample.network` — the walking network (a warped street lattice, an island).
- :mod:`~geo.sample.facilities` — buildings and facilities with their floor areas.
- :mod:`~geo.sample.write` — :func:`~geo.sample.write.write_sample`: the files, byte for
  byte the same per seed.
"""
