"""Streaming CSV reader: decoding, delimiter, column mapping; one row at a time, so memory stays bounded."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cdp.ingest.types import FileUnusable, ImportOptions

CONTROL_CHARACTER_IN_HEADER = "control character (a binary file, or the wrong --encoding?)"

csv.field_size_limit(10 * 1024 * 1024)


def parse_mapping(text: str | None) -> dict[str, str]:
    """`"File column=field,Other=field"` → {"file column": "field", "other": "field"} (file names compared loosely)."""
    mapping: dict[str, str] = {}
    if not text:
        return mapping
    for part in text.split(","):
        if not part.strip():
            continue
        column, sep, target = part.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise FileUnusable(f"--map entry {part.strip()!r} is not 'File column=field'")
        mapping[_loose(column)] = target.strip().lower()
    return mapping


def _loose(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


@dataclass
class CsvSource:
    """An open CSV file: its mapped header and its rows, read one at a time."""

    path: Path
    options: ImportOptions
    fields: list[str]
    original_header: list[str]
    _handle: io.TextIOBase
    _reader: Iterator[list[str]]

    @classmethod
    def open(cls, path: Path, options: ImportOptions) -> CsvSource:
        if not path.is_file():
            raise FileUnusable(f"no such file: {path}")
        encoding = options.encoding
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise FileUnusable(f"unknown encoding {encoding!r}") from exc
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"  # spreadsheets write a byte-order mark
        if len(options.delimiter) != 1:
            raise FileUnusable("--delimiter must be a single character")
        # surrogateescape keeps undecodable bytes visible, so the row that holds them is rejected, not the file.
        handle = path.open(encoding=encoding, errors="surrogateescape", newline="")
        reader = csv.reader(handle, delimiter=options.delimiter)
        try:
            header = next(reader)
        except StopIteration:
            handle.close()
            raise FileUnusable("the file is empty: a header row is required") from None
        if any(not is_valid_text(name) for name in header):
            handle.close()
            raise FileUnusable(f"the header is not valid {options.encoding} text (try --encoding latin-1)")
        if any(control_character(name) for name in header):
            handle.close()
            raise FileUnusable(f"the header holds a {CONTROL_CHARACTER_IN_HEADER}")
        fields = [options.mapping.get(_loose(name), _loose(name).replace(" ", "_")) for name in header]
        duplicates = sorted({name for name in fields if fields.count(name) > 1 and name})
        if duplicates:
            handle.close()
            raise FileUnusable(f"columns appear twice after mapping: {', '.join(duplicates)}")
        return cls(path, options, fields, header, handle, reader)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, {field: raw value}); the header is line 1. Short rows are padded, long rows flagged."""
        fields = self.fields
        width = len(fields)
        for values in self._reader:
            line_no = self._reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # blank line
            row = dict(zip(fields, values, strict=False))
            if len(values) > width:
                row["__extra__"] = values[width:]
            yield line_no, row

    def position(self) -> int:
        """Bytes read so far (for the progress bar)."""
        try:
            return self._handle.buffer.tell()
        except (AttributeError, OSError, ValueError):
            return 0

    def close(self) -> None:
        self._handle.close()


# Control characters (C0 and C1, DEL) but tab, line feed and carriage return, which the normalisers read as spaces.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str) -> str | None:
    """The first control character of `value` as U+XXXX, or None when it has none."""
    found = CONTROL_CHARACTERS.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def is_valid_text(value: str) -> bool:
    """False when the value holds bytes the encoding could not decode (kept as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
