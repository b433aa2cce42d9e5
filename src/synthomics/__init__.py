"""synthomics: privacy-preserving synthetic omics data and microbiome representations.

Data enters once, through :mod:`synthomics.io`, as an :class:`anndata.AnnData`
following the conventions of :mod:`synthomics.container`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthomics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
