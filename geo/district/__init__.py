"""The district: its units at three levels, how they are read, linked and checked.

- :mod:`~geo.district.hierarchy` — the street → community → grid model
  (:class:`~geo.district.hierarchy.District`), building it from layers, parent links
  and the nesting checks (gaps, overlaps, straddles, code clashes).
- :mod:`~geo.district.layers` — sorting input layers by level before they are read
  (OSM admin levels, service layers left out).
- :mod:`~geo.district.codes` — unit codes: refusing codes spreadsheets mangled,
  generating stable codes where a file has none.
- :mod:`~geo.district.topology` — adjacency, overlaps, gaps and containment shares
  between polygons, as plain tables.
"""
