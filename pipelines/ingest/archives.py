"""Reading producers' archives safely: one zip member by name pattern, or a gzip file, refusing
path escapes and anything that expands beyond a cap (FLOWS_MAX_UNCOMPRESSED_BYTES)."""

from __future__ import annotations

import fnmatch
import gzip
import zipfile
from pathlib import Path

CHUNK = 1 << 20
DEFAULT_MAX_UNCOMPRESSED = 4 << 30  # 4 GiB: the largest national file is far below this


class ArchiveError(RuntimeError):
    """An archive is corrupt, unsafe (path escape) or expands beyond the allowed size."""


def open_member(archive_path: Path, pattern: str | None, max_bytes: int = DEFAULT_MAX_UNCOMPRESSED) -> tuple[str, bytes]:
    """Read the one archive member matching `pattern`, refusing unsafe or oversized archives."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{archive_path.name} is not a valid zip archive: {exc}") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for member in members:
            check_member_name(member.filename)
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise ArchiveError(f"archive declares {total} uncompressed bytes, over the limit of {max_bytes}")
        # Case-insensitive: INSEE names the same member `.csv` one year and `.CSV` the next.
        wanted = (pattern or "*").lower()
        matches = [m for m in members if fnmatch.fnmatchcase(Path(m.filename).name.lower(), wanted)]
        if len(matches) != 1:
            names = ", ".join(m.filename for m in members)
            raise ArchiveError(f"expected one member matching {pattern!r}, found {len(matches)} among: {names}")
        return matches[0].filename, _read_capped(archive, matches[0], max_bytes)


def _read_capped(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_bytes: int) -> bytes:
    # The declared size can lie: count what really comes out.
    try:
        with archive.open(member) as stream:
            return _drain(stream, member.filename, max_bytes)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(f"{member.filename} is corrupt: {exc}") from exc


def read_gzip(path: Path, max_bytes: int = DEFAULT_MAX_UNCOMPRESSED) -> bytes:
    """Decompress a gzip file, refusing one that expands beyond `max_bytes`."""
    try:
        with gzip.open(path, "rb") as stream:
            return _drain(stream, path.name, max_bytes)
    except (gzip.BadGzipFile, EOFError, OSError) as exc:
        raise ArchiveError(f"{path.name} is not a valid gzip file: {exc}") from exc


def _drain(stream, name: str, max_bytes: int) -> bytes:
    parts, size = [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ArchiveError(f"{name} expands beyond the limit of {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


def check_member_name(name: str) -> None:
    path = Path(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ".." in path.parts or ":" in name:
        raise ArchiveError(f"archive member {name!r} would be written outside its target directory")

