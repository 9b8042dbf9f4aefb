"""The README is a first screen that stands alone in a clone, and every page it links exists
(issue 25): a newcomer gets from clone to the UI with the overdue cases without leaving the
repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
TOPICS = (
    "operating.md",
    "policies.md",
    "census-and-annex-a.md",
    "alerts.md",
    "scale-out.md",
    "security.md",
    "performance.md",
)


def links(path: Path) -> list[str]:
    return LINK.findall(path.read_text(encoding="utf-8"))


def broken(path: Path) -> list[str]:
    """Links of a page that leave the repository or name a file it does not hold."""
    found = []
    for target in links(path):
        if target.startswith("#"):
            continue
        if re.match(r"[a-z]+:", target):
            found.append(f"{target} (outside the repository)")
            continue
        if not (path.parent / target.split("#")[0]).resolve().is_file():
            found.append(f"{target} (no such file)")
    return found


def test_the_readme_is_one_screen_with_the_two_commands_and_where_to_look() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 60
    assert "make demo" in text and "make test" in text
    assert "/runs?tag=overdue" in text and "data/demo-prefect/api-auth" in text


def test_the_readme_links_every_topic_page() -> None:
    linked = {Path(target).name for target in links(REPO / "README.md")}
    assert set(TOPICS) <= linked


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("docs/*.md"))]
)
def test_no_link_leaves_the_clone(page: str) -> None:
    assert broken(REPO / page) == []


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[a](missing.md) [b](https://example.org) [c](page.md#top) [d](#here)\n")
    assert broken(page) == [
        "missing.md (no such file)",
        "https://example.org (outside the repository)",
    ]
