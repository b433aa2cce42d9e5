"""Exceptions raised by synthomics.

Every error about user input names the file and the place in it (line, column, id)
and says what was expected, so that a user can fix the input without reading code.
"""

from __future__ import annotations

from os import PathLike


class SynthomicsError(Exception):
    """Base class of every error raised on purpose by synthomics."""


class InputError(SynthomicsError, ValueError):
    """Bad user input: a file, a table cell, an option.

    Parameters
    ----------
    source
        The file (or other input) at fault; ``None`` for in-memory data.
    problem
        What is wrong, e.g. ``"negative count -3"``.
    where
        Where in the input, e.g. ``"line 12"``, ``"column 'OTU_5'"``, ``"sample 'S3'"``.
    expected
        What was expected instead, e.g. ``"non-negative numbers"``.

    Examples
    --------
    >>> str(InputError("t.tsv", "cell is 'abc'", where="line 3, column 'OTU1'",
    ...                expected="a number"))
    "t.tsv: line 3, column 'OTU1': cell is 'abc'; expected a number"
    """

    def __init__(
        self,
        source: str | PathLike[str] | None,
        problem: str,
        *,
        where: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.source = None if source is None else str(source)
        self.problem = problem
        self.where = where
        self.expected = expected
        parts = [p for p in (self.source, where) if p]
        message = ": ".join([*parts, problem])
        if expected:
            message += f"; expected {expected}"
        super().__init__(message)


class UnknownFormatError(InputError):
    """The format of a file could not be determined or is not supported."""


class TrainingInterrupted(SynthomicsError):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint to resume from."""
