"""Problems found in a blueprint document, each with its place in the source."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Path", "Problem", "close_matches", "did_you_mean", "dotted"]

#: a location inside the document: mapping keys and sequence indexes, from the root
Path = tuple[str | int, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    """One thing wrong with a blueprint document.

    Attributes:
        source: the file name (or ``<blueprint>`` for text).
        line: 1-based line of the offending node (0 when unknown).
        column: 1-based column of the offending node (0 when unknown).
        path: dotted path of the node, for example ``flows.0.steps.1.connection``.
        message: what is wrong.
        hint: how to fix it, or ``None``.
    """

    source: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}: {self.path or '<root>'}: {self.message}"
        return f"{where} (hint: {self.hint})" if self.hint else where


def dotted(path: Path) -> str:
    """Return ``path`` as a dotted string (``flows.0.name``)."""
    return ".".join(str(part) for part in path)


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """Return up to three of ``choices`` that look like ``word``."""
    return difflib.get_close_matches(word, sorted(choices), n=3, cutoff=0.6)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Return a "did you mean" hint for ``word``, or ``None`` when nothing is close."""
    matches = close_matches(word, choices)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"
