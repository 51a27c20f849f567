"""Siting: where new facilities would bring the most residents within walking reach.

- :mod:`~geo.siting.core` — candidates, maximal cover and the fewest sites for a
  share (HiGHS through scipy), results as tables.
"""
