"""The errors this package raises: one base, each class says when."""

from __future__ import annotations


class SalesError(Exception):
    """Base of every error raised by the sales package."""


class UploadNotFound(SalesError):
    """Raised when an import has no complete upload to read (never staged, or discarded)."""


class UploadTooLarge(SalesError):
    """Raised when an upload grows past its byte limit; what was staged is discarded."""


class HeaderInvalid(SalesError):
    """Raised when a CSV header lacks, repeats or names unknown columns, or cannot be read."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name or '(header)'}: {why}" for name, why in errors.items()))
