"""Atomic file output: write to a temporary file beside the target, then rename.

A failed write never leaves a half-written file under the target name.
:func:`check_output` tells, before any work starts, whether an output can be written at all.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def check_output(
    target: str | os.PathLike[str], *, folder: bool = False, option: str | None = None
) -> Path:
    """Check that ``target`` can be written, before the work that produces it starts.

    The target must not be a folder (or, with ``folder=True``, must not be a file); the
    nearest existing folder above it must be a folder, not a file, and must accept a new
    file (a probe file is created and removed there, so read-only file systems and missing
    permissions are found whoever runs the check).

    Parameters
    ----------
    target
        The output file (or folder with ``folder=True``).
    folder
        Whether the output is a folder (a saved model) rather than a file.
    option
        The option that named the output (``"--out"``), for the message.

    Raises
    ------
    InputError
        Naming the output and what is wrong with it.
    """
    from synthomics.errors import InputError

    target = Path(target)
    where = option
    if folder and target.exists() and not target.is_dir():
        raise InputError(target, "is a file", where=where, expected="a folder")
    if not folder and target.is_dir():
        raise InputError(target, "is a folder", where=where, expected="a file name to write")
    parent = target if folder and target.is_dir() else target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(
            target, f"{parent} is a file, not a folder", where=where, expected="a writable path"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            target, f"cannot write in {parent} ({reason})", where=where, expected="a writable path"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return target


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
