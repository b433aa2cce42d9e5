"""The record of preprocessing steps kept in ``uns["preprocessing"]``.

Every preprocessing function returns a new container and appends one dict to
``uns["preprocessing"]``: ``{"step": <function name>, <its parameters>, <what changed>}``.
Values are numbers, text, booleans or lists of text, so the record reads back from files.
"""

from __future__ import annotations

import json
from typing import Any

import anndata as ad

__all__ = ["preprocessing_history", "record_step"]


def preprocessing_history(adata: ad.AnnData) -> list[dict[str, Any]]:
    """The records in ``adata.uns["preprocessing"]``, oldest first, as a list of dicts.

    Also accepts the forms a file may give back: a dict keyed by position (``"0"``,
    ``"1"``, ...) or a JSON string.
    """
    history = adata.uns.get("preprocessing", [])
    if isinstance(history, str):
        history = json.loads(history)
    if isinstance(history, dict):
        history = [history[k] for k in sorted(history, key=int)]
    return [dict(record) for record in history]


def record_step(adata: ad.AnnData, step: str, **params: Any) -> None:
    """Append ``{"step": step, **params}`` to ``adata.uns["preprocessing"]``, in place."""
    adata.uns["preprocessing"] = [*preprocessing_history(adata), {"step": step, **params}]
