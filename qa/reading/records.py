"""JSONL and CSV exports read as streams, a bounded line at a time: (label, record) pairs, or (label, why not)."""

from __future__ import annotations

import codecs
import csv
import json
import logging
from typing import BinaryIO, Iterator

from qa.errors import SourceError
from qa.reading.limits import bounded_lines, too_big

log = logging.getLogger(__name__)

RECORD_SLACK = 65_536  # a JSONL/CSV line holds the metadata fields beside the article's text


def jsonl_records(name: str, file: BinaryIO, limit: int) -> Iterator[tuple[str, dict[str, object] | str]]:
    """Each non-blank line's JSON object, or the reason it is not one (too big, not UTF-8, malformed)."""
    for lineno, (raw, size) in enumerate(bounded_lines(file, limit + RECORD_SLACK), 1):
        label = f"{name}:{lineno}"
        if not raw:
            yield label, too_big(label, size, limit, "record").reason
            continue
        try:
            line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield label, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); JSONL must be UTF-8"
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield label, f"malformed JSON ({exc.msg} at column {exc.colno})"
            continue
        except RecursionError:
            yield label, "malformed JSON (nested too deeply)"
            continue
        if not isinstance(record, dict):
            yield label, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield label, record


def csv_records(name: str, file: BinaryIO, limit: int) -> Iterator[tuple[str, dict[str, object]]]:
    """Each row as a dict by the header; a SourceError for a file with no 'text' column, or where a line
    is over the limit or malformed (the rows before it are yielded first)."""
    encoding = _csv_encoding(name, file)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    physical = 0

    def lines() -> Iterator[str]:
        nonlocal physical
        for raw, size in bounded_lines(file, limit + RECORD_SLACK):
            physical += 1
            if not raw:  # its quoting cannot be followed past a cut: the rest of the file is not read
                raise too_big(f"{name}:{physical}", size, limit, "line")
            yield decoder.decode(raw)

    csv.field_size_limit(max(csv.field_size_limit(), limit + RECORD_SLACK))
    reader = csv.DictReader(lines())
    try:
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise SourceError(name, f"CSV needs a 'text' column (found: {', '.join(reader.fieldnames or []) or 'none'})")
        for lineno, row in enumerate(reader, 2):
            yield f"{name}:{lineno}", row
    except csv.Error as exc:
        raise SourceError(f"{name}:{physical}", f"malformed CSV ({exc}); the rows before it were read") from None


def _csv_encoding(name: str, file: BinaryIO) -> str:
    """UTF-8 when the file's start reads as UTF-8, else the encoding detected there (bytes that do not fit become U+FFFD)."""
    head = file.read(1 << 16)
    file.seek(0)
    try:
        head.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the 64 KB window
            return "utf-8-sig"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None or b"\x00" in head[:4096]:
        raise SourceError(name, "cannot decode as text (not UTF-8 and no other encoding fits; is it binary?)")
    log.info("%s: decoded as %s", name, best.encoding)
    return best.encoding
