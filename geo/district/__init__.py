"""The district: its units at three levels, how they are read, linked and checked.

- :mod:`~geo.district.model` — the street → community → grid model
  (:class:`~geo.district.model.District`) and unit kinds (street/town, community/village).
- :mod:`~geo.district.hierarchy` — building a district from layers or files, step by step
  (:func:`~geo.district.hierarchy.build_district`, :func:`~geo.district.hierarchy.read_district`).
- :mod:`~geo.district.ingest` — which level a layer holds, which columns mean what,
  clean figures (missing stays missing), shapes, figures derived between levels.
- :mod:`~geo.district.links` — parent links (column, code prefix, parent name, overlap),
  ``--assign`` files, generated codes.
- :mod:`~geo.district.checks` — the nesting checks (codes, gaps, overlaps, straddles).
- :mod:`~geo.district.edit` — renumbering moved units, splitting a community.
- :mod:`~geo.district.layers` — sorting input layers by level before they are read
  (OSM admin levels, service layers left out).
- :mod:`~geo.district.codes` — unit codes: refusing codes spreadsheets mangled,
  generating stable codes where a file has none.
- :mod:`~geo.district.topology` — adjacency, overlaps, gaps and containment shares
  between polygons, as plain tables.
"""
