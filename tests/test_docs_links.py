"""The user documentation stays navigable: a short README, and every relative link resolves.

Links and headings come from markdown-it-py's parse (so code blocks are never mistaken for
links); anchors are checked against GitHub's heading slugs of the target page.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

REPO_ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
PAGES = sorted(
    [REPO_ROOT / "README.md", REPO_ROOT / "CHANGELOG.md", *(REPO_ROOT / "docs").rglob("*.md")]
)
PARSER = MarkdownIt("commonmark").enable("table")


def _inline_text(token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def heading_slugs(page: Path) -> set[str]:
    """GitHub's anchors of a page: lower case, punctuation dropped, spaces -> '-', repeats -N."""
    tokens = PARSER.parse(page.read_text(encoding="utf-8"))
    slugs: set[str] = set()
    seen: dict[str, int] = {}
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type != "heading_open":
            continue
        slug = re.sub(r"[^\w\- ]", "", _inline_text(inline).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs


def relative_links(page: Path) -> list[str]:
    """Targets of the page's links and images that point into the repository."""
    targets = []
    for token in PARSER.parse(page.read_text(encoding="utf-8")):
        for child in token.children or []:
            target = child.attrGet("href") if child.type == "link_open" else None
            target = child.attrGet("src") if child.type == "image" else target
            if target and not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                targets.append(str(target))
    return targets


def test_readme_is_short() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move details to docs/"
    )


def test_pages_found() -> None:
    names = {p.relative_to(REPO_ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/method.md", "docs/architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved.relative_to(REPO_ROOT)}")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_slugs(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO_ROOT)}")
    assert not broken, f"{page.relative_to(REPO_ROOT)}: broken links:\n" + "\n".join(broken)


def test_checker_on_a_known_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Setup: `scripts/setup.sh`, step 1?\n\n## Notes\n\n## Notes\n\n"
        "[a](other.md#x) ![b](img.png) [web](https://example.org) <mailto:x@example.org>\n\n"
        "```\n[not a link](inside_code.md)\n```\n\n| t |\n|---|\n| [c](table.md) |\n",
        encoding="utf-8",
    )
    assert heading_slugs(page) == {"setup-scriptssetupsh-step-1", "notes", "notes-1"}
    assert relative_links(page) == ["other.md#x", "img.png", "table.md"]


def test_readme_consumer_example_is_the_tested_file() -> None:
    """The README's "use it in your node" code is docs/examples/intent_listener.py verbatim,
    the file tests/test_intent_listener.py runs, so the two can never drift apart."""
    example = (REPO_ROOT / "docs" / "examples" / "intent_listener.py").read_text(encoding="utf-8")
    readme = PARSER.parse((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    blocks = [t.content for t in readme if t.type == "fence" and t.info.strip() == "python"]
    assert example in blocks, (
        "README's python example differs from docs/examples/intent_listener.py"
    )
