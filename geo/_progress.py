"""Progress callbacks: long computations pass ``progress(text, fraction)`` their stages.

The CLI draws them as a progress bar, the app as ``st.progress``; the library
only calls the function it is given, if any.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]
"""``progress(text, fraction)``: what is being done and how far along (0–1)."""


def report(progress: Progress | None, step: str, fraction: float) -> None:
    """Tell ``progress`` (when given) the stage ``step`` at ``fraction`` done."""
    if progress is not None:
        progress(step, min(max(fraction, 0.0), 1.0))
