"""Rules: rulebooks (TOML presets shipped in ``rulebooks/``) and the one band module.

- :mod:`~geo.rules.rulebook` — loading a rulebook, facility types, evaluating units
  against its rules, the status table.
- :mod:`~geo.rules.bands` — is a figure inside a band, by how much not, at what cost;
  every judge (check, editor, proposer) uses it.

To add a rule, add it to a preset in ``rulebooks/`` (see ``ARCHITECTURE.md``).
"""
