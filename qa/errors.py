"""The one exception family that the CLI and UI turn into plain messages."""

from __future__ import annotations


class QAError(Exception):
    """An error meant for the user: its message says what went wrong and what to do."""


class SourceError(QAError):
    """A source (file, URL, feed, record) could not be read or held no article."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(QAError):
    """The index directory is missing, corrupt or was built with another model."""


class ConfigError(QAError):
    """A setting has a value outside its valid choices."""


class GenerationError(QAError):
    """A language model could not produce a reply: missing file, unreachable server, refused key, timeout..."""
