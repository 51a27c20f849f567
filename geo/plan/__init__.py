"""Street plans: which street each community (or grid) belongs to, edited and stored.

- :mod:`~geo.plan.base` — :class:`~geo.plan.base.PlanBase` (what does not change while
  editing: block arrays and adjacency, built once per district) and
  :class:`~geo.plan.base.Street`.
- :mod:`~geo.plan.model` — :class:`~geo.plan.model.Plan` (assignment, live totals,
  moves, undo/redo, revision counter) and its :class:`~geo.plan.model.Edit` records.
- :mod:`~geo.plan.tables` — what a plan reports: the street table against the bands,
  findings, street shapes, comparisons and exports (inherited by ``Plan``).
- :mod:`~geo.plan.store` — :class:`~geo.plan.store.PlanStore` (plans in a project file,
  edit by edit).
- :mod:`~geo.plan.selection` — map clicks and drawings turned into selections.
- :mod:`~geo.plan.splits` — carrying every plan into the project a community split
  makes, linked both ways so undo and redo cross the split.
"""
