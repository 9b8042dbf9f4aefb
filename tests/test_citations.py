"""Every line a rule cites in the source documents exists and says something (issue 19 point 8).

The five source documents are kept in docs/seeds/ (copied from the project's shared seeds, with
their index): a citation such as `003 L131`, `001 s6.2 (L361-363)` or `000 lines 88-90` in a
policy file, the code or the docs must name a line of that document that exists and is not blank
(for a range, its first and last lines; the documents were extracted from PDFs, so a passage
spans blank lines). Stockton's rule once cited L362, a blank line between the two it meant.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "docs" / "seeds"
CITATION = re.compile(
    r"(?<![\w.])(00[0-4])(?:\s+s[\d.]+)?[\s,]+\(?(?:L|lines? )(\d+)(?:\s*[-–]\s*L?(\d+))?"
)
SKIP = {".venv", ".venv-census", ".venv-prefect-old", ".git", "seeds", "node_modules"}


def _documents() -> dict[str, list[str]]:
    return {
        path.name[:3]: path.read_text(encoding="utf-8").splitlines()
        for path in sorted(SEEDS.glob("00*.txt"))
    }


def _cited_in() -> list[Path]:
    patterns = ("policies/**/*.yaml", "**/*.py", "docs/*.md", "README.md", "models/**/*.yaml")
    found: set[Path] = set()
    for pattern in patterns:
        for path in REPO.glob(pattern):
            if not SKIP.intersection(path.relative_to(REPO).parts):
                found.add(path)
    return sorted(found)


def citations() -> list[tuple[str, str, int, int]]:
    """(where, document, first line, last line) of every citation of a source document."""
    found = []
    for path in _cited_in():
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            for match in CITATION.finditer(line):
                first = int(match.group(2))
                last = int(match.group(3) or first)
                where = f"{path.relative_to(REPO)}:{number} {match.group(0)!r}"
                found.append((where, match.group(1), first, last))
    return found


def test_the_source_documents_are_the_shared_ones():
    documents = _documents()
    assert sorted(documents) == ["000", "001", "002", "003", "004"]
    index = (SEEDS / "README.md").read_text(encoding="utf-8")
    for path in SEEDS.glob("00*.txt"):
        assert path.name in index, path.name


def test_the_scan_finds_the_policies_citations():
    """The pattern is not vacuous: the policy files' own citations are found."""
    where = [entry[0] for entry in citations()]
    assert sum(w.startswith("policies/redbridge.yaml") for w in where) >= 2
    assert sum(w.startswith("policies/stockton-on-tees.yaml") for w in where) >= 2
    assert sum(w.startswith("policies/warwickshire.yaml") for w in where) >= 1
    assert len(where) > 100


@pytest.mark.parametrize("document, first, last", [("001", 362, 362), ("003", 9999, 9999)])
def test_a_blank_or_missing_line_is_found(document: str, first: int, last: int):
    assert _problem(_documents()[document], first, last)


def _problem(lines: list[str], first: int, last: int) -> str | None:
    if first > last:
        return f"the range ends before it starts ({first}-{last})"
    for number in {first, last}:
        if number < 1 or number > len(lines):
            return f"line {number} is past the end ({len(lines)} lines)"
        if not lines[number - 1].strip():
            return f"line {number} is blank"
    return None


def test_every_cited_line_exists_and_is_not_blank():
    documents = _documents()
    problems = [
        f"{where}: {problem}"
        for where, document, first, last in citations()
        if (problem := _problem(documents[document], first, last))
    ]
    assert problems == []
