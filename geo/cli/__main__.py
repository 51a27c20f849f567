"""``python -m geo.cli``: the ``wangge`` command."""

from geo.cli import main

main()
