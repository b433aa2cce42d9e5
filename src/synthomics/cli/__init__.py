"""The ``synthomics`` command line: thin typer commands over the library."""
