"""The progress display of long jobs (generator fits, evaluations, the pipeline).

One rich display at a time, on standard error: rich allows a single live display, so a
display opened while another is live adds its tasks to that one (a generator fitted inside
the pipeline shows its bars under the pipeline's). Every call is a no-op when the display is
off, so code reports progress without checking.

>>> with ProgressDisplay(enabled=False).running() as display:
...     task = display.task("fitting", total=3)
...     task.advance()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["NullTask", "ProgressDisplay", "RichTask", "progress_task"]

_LIVE: list[Any] = []
"""The rich display now shown (at most one)."""


class NullTask:
    """A task of a display that is off: every call does nothing."""

    def advance(self, steps: float = 1) -> None:
        """Do nothing."""

    def update(self, **fields: Any) -> None:
        """Do nothing."""


class RichTask:
    """A task (bar or spinner) of a rich display."""

    def __init__(self, progress: Any, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, steps: float = 1) -> None:
        """Move the bar on by ``steps``."""
        self._progress.advance(self._id, steps)

    def update(self, **fields: Any) -> None:
        """Change ``description``, ``total`` or ``completed``."""
        self._progress.update(self._id, **fields)


class ProgressDisplay:
    """A progress display that jobs add tasks to while :meth:`running`.

    Disabled (every call a no-op) unless ``enabled``; an enabled display opened while
    another is live shares that one.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[ProgressDisplay]:
        """Show the display while the block runs."""
        if not self.enabled:
            yield self
            return
        if _LIVE:
            self._progress = _LIVE[-1]
            try:
                yield self
            finally:
                self._progress = None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as progress:
            self._progress = progress
            _LIVE.append(progress)
            try:
                yield self
            finally:
                _LIVE.pop()
                self._progress = None

    def task(self, description: str, total: float | None = None) -> NullTask | RichTask:
        """Add a task (a bar with ``total`` steps, or a spinner when ``total`` is None)."""
        if self._progress is None:
            return NullTask()
        return RichTask(self._progress, self._progress.add_task(description, total=total))


@contextlib.contextmanager
def progress_task(
    enabled: bool, description: str, total: float | None = None
) -> Iterator[NullTask | RichTask]:
    """A display with one task, shown while the block runs (a :class:`NullTask` if off)."""
    with ProgressDisplay(enabled).running() as display:
        yield display.task(description, total)
