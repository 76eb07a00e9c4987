"""Uploaded files in a served app: allowed types checked by content, not only by name, and their temporary copies removed."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from qa.errors import SourceError

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
# the start of common binary formats, so the refusal can say what the file really is
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"), (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"), (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"\x7fELF", "a program (ELF)"), (b"MZ", "a Windows program"),
    (b"RIFF", "a RIFF media file (WAV, AVI, WebP)"), (b"OggS", "an Ogg media file"), (b"ID3", "an MP3 file"),
    (b"SQLite format 3\x00", "an SQLite database"), (b"\xd0\xcf\x11\xe0", "an old Office document"),
)


def check_upload(path: str | Path, name: str, allowed: Sequence[str]) -> None:
    """Raise SourceError (naming `name`, the original file name) unless the file is of an `allowed` type by its
    extension (".txt", …) and is text by its content: no known binary signature, no NUL bytes, decodable as text."""
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise SourceError(name, f"refused: {suffix or 'a file without an extension'} is not an article type; "
                                f"upload one of {', '.join(allowed)}")
    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as exc:
        raise SourceError(name, f"cannot read the upload: {exc.strerror or exc}") from None
    for magic, kind in MAGIC:
        if head.startswith(magic):
            raise SourceError(name, f"refused: the content is {kind}, not a {suffix} article file")
    if _is_binary(head):
        raise SourceError(name, f"refused: the content is binary, not a {suffix} article file (text, HTML, XML, JSONL or CSV)")


def _is_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark: text with NULs
        return False
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the sniff window
            return False
    from charset_normalizer import from_bytes

    return from_bytes(head).best() is None


def remove_temporary(paths: list[str]) -> None:
    """Delete uploaded files that lie in gradio's upload cache (never a file elsewhere), and their folders when empty."""
    cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
    for path in paths:
        file = Path(path).resolve()
        if cache not in file.parents:
            continue
        try:
            file.unlink(missing_ok=True)
            if file.parent != cache and not any(file.parent.iterdir()):
                file.parent.rmdir()
        except OSError as exc:
            log.warning("cannot remove the uploaded file %s: %s", file, exc)


def upload_files(**kwargs: Any) -> Any:
    """A multiple-file gr.File whose uploads leave nothing behind: gradio 6's File creates (and never removes) an
    empty temporary file in its cache for every file it hands to a handler; this one hands over the path only.
    (The instance's method is replaced, not the class subclassed: a subclass would be served as a custom
    component with its own frontend, and gradio writes a .pyi stub beside the module that defines one.)"""
    import types

    import gradio as gr
    from gradio.utils import NamedString
    from gradio_client import utils as client_utils

    def path_only(self: Any, f: Any) -> NamedString:  # gradio's File._process_single_file, less the stray file
        if self.file_types and not client_utils.is_valid_file(f.path, self.file_types):
            raise gr.Error(f"Invalid file type. Please upload a file that is one of these formats: {self.file_types}")
        return NamedString(f.path)

    files = gr.File(file_count="multiple", **kwargs)
    files._process_single_file = types.MethodType(path_only, files)
    return files
