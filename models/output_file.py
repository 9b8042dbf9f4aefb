"""The one way a command writes a file (issue 26, point 3): a new regular file, never through a
link, never into a device, a FIFO or a folder, never over a file it was not asked to replace.

The bytes go to a temporary file created beside the target (O_CREAT | O_EXCL | O_NOFOLLOW, so
nothing that already exists is opened), are fsynced, and the file is moved into place only when
complete: a full disk or a crash leaves the target as it was and no empty or partial file. Without
`replace` the move is a hard link, which fails if the name appeared meanwhile (no race window);
with it, `os.replace` swaps a regular file atomically. The file is created 0600 (owner only): every
output of the engine (a census return, a report) may hold personal data or a council's figures.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PRIVATE = 0o600


class OutputRefused(ValueError):
    """The target is not a new name or a regular file the command may replace (exit 1)."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_target(path: Path, *, option: str, replace: bool) -> None:
    """Refuse `path` unless it is a new name, or a regular file and `replace` is allowed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        folder = path.parent
        if not folder.is_dir():
            raise OutputRefused(f"{option}: expected a file in an existing folder; "
                                f"no folder {folder}") from None  # fmt: skip
        return
    if not stat.S_ISREG(info.st_mode):
        raise OutputRefused(
            f"{option}: expected a new file name; {path} is {_kind(info.st_mode)} "
            "(nothing is written through or over it)"
        )
    if not replace:
        raise OutputRefused(
            f"{option}: {path} exists; expected a new file name (--force replaces a regular file)"
        )


@contextmanager
def new_file(
    path: Path, *, option: str, replace: bool = False, mode: int = PRIVATE
) -> Iterator[IO[bytes]]:
    """A binary stream whose bytes become `path` when the block completes without error."""
    check_target(path, option=option, replace=replace)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(temporary, flags, mode)
    except OSError as error:  # a read-only folder, a full disk: name the target
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        try:
            with os.fdopen(descriptor, "wb") as out:  # closing flushes: a failure there too
                yield out
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:  # name the target, not the temporary
            raise OSError(error.errno, error.strerror, str(path)) from None
        _move_into_place(temporary, path, option=option, replace=replace)
        _sync_folder(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(
    path: Path, data: bytes, *, option: str, replace: bool = False, mode: int = PRIVATE
) -> None:
    with new_file(path, option=option, replace=replace, mode=mode) as out:
        out.write(data)


def _move_into_place(temporary: Path, path: Path, *, option: str, replace: bool) -> None:
    check_target(path, option=option, replace=replace)  # again: it may have changed meanwhile
    if replace:
        os.replace(temporary, path)  # a regular file (checked), or nothing: never follows a link
        return
    try:
        os.link(temporary, path, follow_symlinks=False)  # fails if the name now exists
    except FileExistsError:
        check_target(path, option=option, replace=False)  # says what appeared there
        raise
    except OSError as error:  # a file system without hard links: checked just above
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        os.replace(temporary, path)


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the file itself is synced
    finally:
        os.close(descriptor)
