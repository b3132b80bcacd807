"""The one reader of input tables: CSV or Parquet recognised by content (gzip, bz2 and one-file
zip CSVs; UTF-8, Windows-1252, Latin-1, or UTF-16/32 with a BOM; the separator sniffed), read
whole or in chunks. Files that are not tables (empty, Excel, binary) get a clear error.

Errors are raised as `error` (a DataContractError subclass chosen by the caller), so each
command reports them in its own words and exits with code 2."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow.parquet as pq

from scoring.core.errors import DataContractError

log = logging.getLogger(__name__)

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
SEPARATORS = ",;\t|"
COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2"}
BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)
SAMPLE_BYTES = 1 << 20  # what encoding and separator detection read of a streamed file

ErrorType = type[DataContractError]


def file_kind(path: Path, error: ErrorType = DataContractError) -> str:
    """parquet | gzip | bz2 | zip | text, by content; a clear error for a missing or empty
    file, an Excel workbook or other binary data."""
    if path.is_dir():
        raise error(f"{path} is a folder, not a file: name the export file itself")
    if not path.is_file():
        raise error(f"input file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head:
        raise error(f"{path} is empty (0 bytes): export the data again")
    if head.startswith(b"PAR1"):
        try:
            pq.read_metadata(path)
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise error(
                f"{path} starts like a Parquet file but its footer cannot be read ({err}): it "
                "is damaged or cut short; write it again"
            ) from None
        return "parquet"
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            _check_text(path, _decompressed_head(path, kind, error), error, f"{kind}-compressed ")
            return kind
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as bundle:
                names = bundle.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise error(
                f"{path} starts like a zip archive or Excel workbook but cannot be opened as "
                f"one ({err}): it is damaged or cut short; export it again as CSV or Parquet"
            ) from None
        if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
            raise error(
                f"{path} is an Excel workbook, not a CSV: open it and save it as CSV (UTF-8) "
                "or Parquet"
            )
        if len(names) != 1:
            raise error(
                f"{path} is a zip archive of {len(names)} files; leadscore reads a zip that "
                "holds one CSV file"
            )
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise error(
            f"{path} is an Excel 97-2003 workbook, not a CSV: save it as CSV (UTF-8) or Parquet"
        )
    _check_text(path, head, error)
    return "text"


def _decompressed_head(path: Path, kind: str, error: ErrorType) -> bytes:
    try:
        return read_bytes(path, kind, 8192)
    except (OSError, EOFError, ValueError) as err:
        raise error(
            f"{path} is not a readable {kind} file ({err}): export the data again"
        ) from None


def _check_text(path: Path, head: bytes, error: ErrorType, what: str = "") -> None:
    """Text, or UTF-16/32 with its byte order mark; otherwise a clear error."""
    if b"\x00" in head and not any(head.startswith(bom) for bom, _ in BOMS):
        raise error(
            f"{path} holds {what}binary data, not text: it is not a CSV file (first bytes "
            f"{head[:8]!r})"
        )


def is_parquet(path: Path | str) -> bool:
    """Whether the file exists and is Parquet (by its magic bytes, whatever its name)."""
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def open_content(path: Path, kind: str) -> BinaryIO:
    """The file's content as a binary stream, decompressed (kind from `file_kind`)."""
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "zip":
        bundle = zipfile.ZipFile(path)
        return bundle.open(bundle.namelist()[0])
    return open(path, "rb")


def read_bytes(path: Path, kind: str, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them), decompressed."""
    with open_content(path, kind) as handle:
        return handle.read(size)


def sniff_separator(text: str) -> str:
    """The CSV separator of a text sample (comma when nothing fits)."""
    try:
        return csv.Sniffer().sniff(text[:50_000], delimiters=SEPARATORS).delimiter
    except csv.Error:
        return ","


def _decodes(raw: bytes, encoding: str, sample: bool) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the end of a sample is not an encoding error.
        return sample and err.start >= len(raw) - 4 and encoding.startswith("utf-8")
    return True


def detect_encoding(
    raw: bytes, path: Path, sample: bool = False, error: ErrorType = DataContractError
) -> str:
    """The encoding of a CSV's bytes (or of its first bytes, when `sample`)."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):  # UTF-16/32 exports (Excel's "Unicode text") carry a BOM
            return encoding
    for encoding in ENCODINGS:
        if _decodes(raw, encoding, sample):
            return encoding
    raise error(f"{path}: cannot decode as {', '.join(ENCODINGS)}")


def warn_duplicate_header(path: Path, text: str, separator: str) -> list[str]:
    """Warn (and return the warnings) for every name the CSV header holds more than once:
    pandas reads the second "Industry" as "Industry.1", which nobody asked for."""
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
    except csv.Error:
        return []
    names = [name.strip() for name in header]
    notes = []
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        places = [i + 1 for i, n in enumerate(names) if n == name]
        renamed = ", ".join(repr(f"{name}.{k}") for k in range(1, len(places)))
        notes.append(
            f"{path.name}: the header names column {name!r} {len(places)} times (columns "
            f"{', '.join(map(str, places))}); the first is read as {name!r}, the others as "
            f"{renamed}. Rename them in the export if they are different fields."
        )
    for note in notes:
        log.warning(note)
    return notes


def _strip_header(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_table(
    path: Path | str, *, text: bool = False, error: ErrorType = DataContractError
) -> pd.DataFrame:
    """A whole table. CSV: every value as text, a blank as ''. Parquet: typed, or every value
    as text (missing stays missing) with `text`."""
    path = Path(path)
    kind = file_kind(path, error)
    if kind == "parquet":
        frame = pd.read_parquet(path)
        if text:
            frame = frame.astype(object).where(frame.notna(), None)
            frame = frame.map(lambda v: v if v is None else str(v))
        return _strip_header(frame)
    raw = read_bytes(path, kind)
    if not raw.strip():
        raise error(f"{path} holds no columns and no rows: export the data again")
    encoding = detect_encoding(raw, path, error=error)
    content = raw.decode(encoding)
    separator = sniff_separator(content)
    try:
        frame = pd.read_csv(
            io.StringIO(content),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            quotechar='"',
            skipinitialspace=False,
        )
    except pd.errors.ParserError as err:
        raise error(f"{path}: cannot be read as a {encoding} CSV: {err}") from None
    warn_duplicate_header(path, content[:SAMPLE_BYTES], separator)
    log.info(
        "read %s: %d rows, separator %r, encoding %s", path.name, len(frame), separator, encoding
    )
    return _strip_header(frame)


def iter_chunks(
    path: Path | str, chunk_rows: int, error: ErrorType = DataContractError, *, warn: bool = True
) -> Iterator[pd.DataFrame]:
    """The table chunk by chunk. Parquet columns stay typed; CSV values are text, None when
    blank. Encoding and separator come from the first MiB. `warn`: say what the header
    reshapes (a peek at the first rows leaves that to the real read)."""
    path = Path(path)
    kind = file_kind(path, error)
    if kind == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    head = read_bytes(path, kind, SAMPLE_BYTES)
    encoding = detect_encoding(head, path, sample=True, error=error)
    sample = head.decode(encoding, errors="ignore")
    separator = sniff_separator(sample)
    if warn:
        warn_duplicate_header(path, sample, separator)
    try:
        reader = pd.read_csv(
            path,
            sep=separator,
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            chunksize=chunk_rows,
            compression=None if kind == "text" else kind,
        )
        for frame in reader:
            frame = _strip_header(frame)
            yield frame.astype(object).where(frame != "", None)
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise error(f"{path}: cannot be read as {encoding} CSV: {err}") from None
