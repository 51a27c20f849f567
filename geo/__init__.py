"""wangge: three-level grid management (街道 street, 社区 community, 网格 grid).

The library is pure: it never imports Streamlit and can be used from Python,
the ``wangge`` command and the app alike.
"""

__version__ = "0.1.0"

LEVELS: tuple[str, ...] = ("street", "community", "grid")
"""The three levels, coarsest first."""
