"""Maps that render offline.

- :mod:`~geo.maps.view` — folium maps whose scripts and styles are local files.
- :mod:`~geo.maps.assets` — fetching those files from the npm registry into a
  per-user cache (or the checkout's ``static/vendor``).
"""
