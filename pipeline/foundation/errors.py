"""Errors that reach users as one specific line (file, column, row), never a deep traceback."""

from __future__ import annotations


class PassingScoreError(Exception):
    """Base class: the message is the whole story a user needs (the CLI prints it and exits 1)."""


class InputError(PassingScoreError):
    """Bad user input: an option value, a missing path, an unknown season."""


class SourceError(PassingScoreError):
    """A data source could not deliver: missing extra, failed download, empty answer."""


class ValidationError(PassingScoreError):
    """A play-by-play file failed validation at the door; nothing of it was written."""

    def __init__(self, file: str, column: str | None, row: int | None, problem: str) -> None:
        self.file, self.column, self.row, self.problem = file, column, row, problem
        where = [f"file {file}"]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {problem}")


class WarehouseError(PassingScoreError):
    """The warehouse is missing, locked or lacks a table a stage needs."""


class NotFoundError(InputError):
    """A well-formed request for data the warehouse does not hold (the API answers 404)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty
    (so a library error with no text still gives a one-line message, not an IndexError)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
