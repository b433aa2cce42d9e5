"""MetAML downstream benchmark of the microbiome embeddings (issue 7).

Same as ``synthomics benchmark-embeddings``; see
:mod:`synthomics.embeddings.benchmark` for the protocol.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/embeddings.py --out benchmarks/results/embeddings
    OMP_NUM_THREADS=1 python benchmarks/embeddings.py --folds cirrhosis,t2d \\
        --variants all --draws 5 --sizes 25,50,100,all --no-forest --no-cross \\
        --out benchmarks/results/embeddings_variants
"""

from __future__ import annotations

import sys

import typer

from synthomics.cli.embed import benchmark_embeddings

if __name__ == "__main__":
    sys.exit(typer.run(benchmark_embeddings))
