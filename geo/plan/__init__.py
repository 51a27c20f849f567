"""Street plans: which street each community (or grid) belongs to, edited and stored.

- :mod:`~geo.plan.model` — :class:`~geo.plan.model.PlanBase` (what does not change
  while editing), :class:`~geo.plan.model.Plan` (assignment, live totals, undo/redo,
  revision counter) and :class:`~geo.plan.model.PlanStore` (plans in a project file).
- :mod:`~geo.plan.selection` — map clicks and drawings turned into selections.
"""
