"""Atomic file output: write to a temporary file beside the target, then rename.

A failed write never leaves a half-written file under the target name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target
        The final output path. Its parent folder is created if needed.
    suffix
        Suffix of the temporary file (some writers choose the format by extension);
        defaults to the target's full suffix.

    Yields
    ------
    pathlib.Path
        Where the caller writes. It is removed if the block raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_paths(targets: dict[str, str | os.PathLike[str]]) -> Iterator[dict[str, Path]]:
    """Like :func:`atomic_path` for several files written together (PLINK's .bed/.bim/.fam).

    All renames happen only after the block succeeds; on failure every temporary is removed.
    """
    with contextlib.ExitStack() as stack:
        paths = {key: stack.enter_context(atomic_path(t)) for key, t in targets.items()}
        yield paths
