"""Entry point of the ``synthomics`` command: registers the commands of the sibling modules.

Each command lives in its own module and imports heavy libraries inside the function,
so that ``synthomics --help`` stays fast.
"""

from __future__ import annotations

import typer

from synthomics import __version__

app = typer.Typer(
    name="synthomics",
    help="Privacy-preserving synthetic microbiome and genotype data, microbiome "
    "embeddings, and the evaluation that judges them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synthomics {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """synthomics command line."""


# --- command registration (one line per command; modules in synthomics.cli) ---
# (the commands are added below, one line each)
from synthomics.cli import convert, info  # noqa: E402  (light: typer and rich only)

app.command("info")(info.info)
app.command("convert")(convert.convert)
from synthomics.cli.evaluate import evaluate as _evaluate  # noqa: E402  (light)

app.command("evaluate")(_evaluate)
from synthomics.cli.evaluate_genotypes import evaluate_genotypes as _evaluate_genotypes  # noqa: E402

app.command("evaluate-genotypes")(_evaluate_genotypes)
from synthomics.cli import embed as _embed  # noqa: E402  (light: torch imported in commands)

app.command("pretrain")(_embed.pretrain)
app.command("embed")(_embed.embed)
from synthomics.cli import generate as _generate  # noqa: E402  (light: models load in commands)

app.command("fit")(_generate.fit)
app.command("sample")(_generate.sample)
app.command("models")(_generate.models)
from synthomics.cli import spike as _spike  # noqa: E402  (light: models load in the command)

app.command("spike")(_spike.spike)
from synthomics.cli import pipeline as _pipeline  # noqa: E402  (light: work in commands)

app.command("run")(_pipeline.run)
app.command("demo")(_pipeline.demo)


if __name__ == "__main__":  # pragma: no cover
    app()
