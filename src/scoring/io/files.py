"""Small file helpers used at every edge: JSON documents, files and links written atomically,
content hashes."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.core.jsonable import json_ready


def _refuse(value: Any) -> Any:
    """Canonical documents are strict: a value json_ready leaves alone is a bug in the caller."""
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(
    path: Path | str, document: Any, *, canonical: bool = False, default: Any = str
) -> Path:
    """Write a JSON document. canonical: sorted keys and strict types, so the same content
    always gives the same bytes and hash (artifact files); otherwise keys keep their order and
    other values go through `default` (text unless said)."""
    path = Path(path)
    if canonical:
        text = json.dumps(json_ready(document), indent=2, sort_keys=True, default=_refuse)
    else:
        text = json.dumps(document, indent=2, default=default)
    return write_text_whole(path, text)


def write_whole(path: Path | str, write_to: Callable[[Path], Any]) -> Path:
    """Have `write_to` write a file under a name of its own beside `path`, then move it into
    place atomically: readers see the old file or the new one, whole, never a half-written
    one, and two writers never write into each other's file (the last to finish wins)."""
    path = Path(path)
    temporary = aside(path)
    try:
        write_to(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text_whole(path: Path | str, text: str) -> Path:
    """Write a UTF-8 text file whole (see `write_whole`)."""
    return write_whole(path, lambda p: p.write_text(text, encoding="utf-8"))


def read_json(path: Path | str) -> Any:
    """A JSON document."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256(path: Path | str) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def point_link(link: Path, target_name: str) -> Path:
    """Make `link` a relative symlink to the folder `target_name` beside it, replacing any old
    link atomically (readers see the old target or the new one, never none)."""
    temporary = link.with_name(f".{link.name}-{os.getpid()}")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target_name, target_is_directory=True)
    os.replace(temporary, link)
    return link


# A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell and column name that a spreadsheet would run as a
    formula prefixed with a single quote (OWASP's advice): a CSV written for people opens in
    Excel as text. Numbers are left alone (a negative number is not a formula)."""

    def safe(value: Any) -> Any:
        return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value

    out = frame.rename(columns=lambda c: safe(str(c)))
    for column in out.columns:
        values = out[column]
        if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if pd.api.types.is_datetime64_any_dtype(values):
                continue
            out[column] = values.map(safe, na_action="ignore")
    return out


def aside(target: Path) -> Path:
    """A temporary name of its own beside `target`, to write a file (or folder) whole and then
    move it into place: two writers never write into each other's (and, unlike mkstemp, a
    file created there gets the umask's mode, not 600)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.partial")
