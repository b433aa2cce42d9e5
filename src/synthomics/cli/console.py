"""Shared rich console and error handling for the command line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from synthomics.errors import SynthomicsError

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`~synthomics.errors.SynthomicsError` into a one-line message and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SynthomicsError as exc:
            message = escape(str(exc))  # file names and lists are not rich markup
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from exc

    return wrapper


def reflow_help(func: Callable[P, R]) -> Callable[P, R]:
    """Join the wrapped lines of each docstring paragraph so ``--help`` reflows them.

    typer's rich help keeps single line breaks; paragraphs whose lines are all indented
    (examples) are left as they are.
    """
    import inspect

    paragraphs = []
    for paragraph in inspect.cleandoc(func.__doc__ or "").split("\n\n"):
        lines = paragraph.splitlines()
        if not all(line.startswith((" ", "\t")) for line in lines):
            paragraph = " ".join(line.strip() for line in lines)
        paragraphs.append(paragraph)
    func.__doc__ = "\n\n".join(paragraphs)
    return func
