"""Street plans: which street each community (or grid) belongs to, edited and stored.

- :mod:`~geo.plan.model` — :class:`~geo.plan.model.PlanBase` (what does not change
  while editing), :class:`~geo.plan.model.Plan` (assignment, live totals, undo/redo,
  revision counter) and :class:`~geo.plan.model.PlanStore` (plans in a project file).
- :mod:`~geo.plan.selection` — map clicks and drawings turned into selections.
- :mod:`~geo.plan.splits` — carrying every plan into the project a community split
  makes, linked both ways so undo and redo cross the split.
"""
