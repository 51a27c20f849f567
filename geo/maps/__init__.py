"""Maps that render offline.

- :mod:`~geo.maps.view` — folium maps whose scripts and styles are local files.
- :mod:`~geo.maps.assets` — fetching those files from the npm registry into a
  per-user cache (or the checkout's ``static/vendor``).
- :mod:`~geo.maps.basemaps` — basemap presets (none, OpenStreetMap, 天地图, an intranet
  server) and the GCJ-02 shift of every layer of a built map.
- :mod:`~geo.maps.preview` — outlines of freshly read layers by level (Data page).
- :mod:`~geo.maps.mapprint` — a plan as a printable PNG/PDF (legend, north arrow, scale).
- :mod:`~geo.maps.minimap` — a plan as a small SVG (the alternatives' cards).
- :mod:`~geo.maps.editor` — the editor's light layers: blocks simplified once per district
  to the view, street outlines, labels, each layer one script (city scale).
- :mod:`~geo.maps.held` — layers the browser keeps between reruns: shapes fetched once,
  restyled in place by a small paint per plan revision; clicks sent at once.
"""
