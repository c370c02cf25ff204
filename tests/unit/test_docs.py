"""The repository documents itself: citations resolve, nothing points outside, every package
has its place in the architecture.

Code and tests cite the facts they rely on by section of ``docs/reference.md`` ("reference
B.3", "(E.4)", "reference E", "probe findings"); a citation of a section that does not exist
sends a reader nowhere, so each is checked here. A fresh clone must explain itself without
anything outside the repository, so no file may point at the shared notes the project was
started from. And ``docs/architecture.md`` must place every package, so a package added or
renamed without its description fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "kubetrust"
REFERENCE = REPO / "docs" / "reference.md"
ARCHITECTURE = REPO / "docs" / "architecture.md"

SCANNED_FOR_CITATIONS = ("src", "tests", "benchmarks", "tools", "docs", "README.md")
"""Where citations of the reference may appear (the reference itself aside)."""

SCANNED_FOR_OUTSIDE_LINKS = (
    "src",
    "tests",
    "benchmarks",
    "tools",
    "docs",
    "examples",
    "README.md",
    "CHANGELOG.md",
    "Makefile",
)
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".json", ".cfg", ".ini", ""}

SECTION_ID = re.compile(r"(?<![\w.])([A-Z])\.(\d+)\b")
"""A section id as code cites it: ``B.3`` in "reference B.3", "(B.3)", "B.3's"."""

NOT_CITATIONS = frozenset({"X.509"})
"""Tokens shaped like a section id that are something else."""

PART_CITATION = re.compile(r"\b[Rr]eference\s+([A-Z])\b(?!\.\d)")
"""A citation of a whole part: "reference E", "(reference E)"."""

PROBE_CITATION = re.compile(r"probe[ -]findings", re.IGNORECASE)

HEADING = re.compile(r"^#{2,4} ([A-Z])(?:\.(\d+))?[. ]", re.MULTILINE)

OUTSIDE = (
    "../shared",
    "/work/" + "shared",
    "aws-eks-" + "semantics.md",
    "probe-" + "findings.md",
    "pod-" + "identity.md",
    "style-" + "anchors.md",
    "DESIGN" + ".md",
)
"""The shared notes outside the repository, by path and by file name (spelt in pieces so
that this file does not match itself)."""


def reference_sections() -> set[str]:
    """The ids of the reference's parts ("E") and sections ("E.4")."""
    found: set[str] = set()
    for part, number in HEADING.findall(REFERENCE.read_text(encoding="utf-8")):
        found.add(f"{part}.{number}" if number else part)
    return found


def text_files(roots: tuple[str, ...]) -> Iterator[Path]:
    """The repository's text files under ``roots`` (directories or single files)."""
    for name in roots:
        root = REPO / name
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix in TEXT_SUFFIXES or path.name == "Makefile":
                yield path


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def citations(text: str) -> Iterator[tuple[int, str]]:
    """Every (line, cited id) in ``text``: sections, whole parts, the probe findings."""
    for m in SECTION_ID.finditer(text):
        if m.group(0) not in NOT_CITATIONS:
            yield line_of(text, m.start()), m.group(0)
    for m in PART_CITATION.finditer(text):
        yield line_of(text, m.start()), m.group(1)
    for m in PROBE_CITATION.finditer(text):
        yield line_of(text, m.start()), "P"


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(REPO)}:{line}"


def test_reference_has_the_sections_the_code_is_built_on() -> None:
    """Guards the parser below as much as the document: a reference whose headings the
    pattern no longer reads would make every citation look dangling, or none."""
    sections = reference_sections()
    for expected in ("A", "A.1", "A.9", "B.6", "C.4", "D.3", "E.4", "F.1", "G.6", "P", "P.1"):
        assert expected in sections, expected


def test_every_citation_resolves_to_a_section_of_the_reference() -> None:
    sections = reference_sections()
    dangling = [
        f"{where(path, line)}: {cited}"
        for path in text_files(SCANNED_FOR_CITATIONS)
        if path not in (REFERENCE, Path(__file__).resolve())
        for line, cited in citations(path.read_text(encoding="utf-8", errors="replace"))
        if cited not in sections
    ]
    assert not dangling, "citations of sections docs/reference.md lacks:\n" + "\n".join(dangling)


def test_the_citation_scanner_finds_each_form() -> None:
    text = (
        '"""reference B.3; semantics reference D.2, (E.4) and (reference E).\n'
        'X.509 certificates; see the probe findings."""'
    )
    assert sorted(c for _, c in citations(text)) == ["B.3", "D.2", "E", "E.4", "P"]
    assert list(citations("(reference Z.9)")) == [(1, "Z.9")]
    assert "Z.9" not in reference_sections()


def test_nothing_points_outside_the_repository() -> None:
    found = [
        f"{where(path, line_of(text, text.index(needle)))}: {needle}"
        for path in text_files(SCANNED_FOR_OUTSIDE_LINKS)
        if path != Path(__file__).resolve()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for needle in OUTSIDE
        if needle in text
    ]
    assert not found, "files pointing outside the repository:\n" + "\n".join(found)


def packages() -> list[str]:
    """Every package under ``src/kubetrust`` as a path (``sandbox/aws/services/eks/``), and
    every top-level module but ``__init__`` as a file name (``arn.py``)."""
    names = [
        f"{d.relative_to(PACKAGE).as_posix()}/"
        for d in sorted(PACKAGE.rglob("*"))
        if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.py"))
    ]
    names += [f.name for f in sorted(PACKAGE.glob("*.py")) if f.name != "__init__.py"]
    return names


def test_every_package_is_placed_in_the_architecture() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = [name for name in packages() if f"`{name}`" not in text]
    assert not missing, "docs/architecture.md does not describe: " + ", ".join(missing)


def test_the_architecture_describes_no_package_that_is_gone() -> None:
    """The package table names only packages that exist (a rename updates the doc)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w/]+/)` \|", text, re.MULTILINE)
    assert rows, "the package table of docs/architecture.md was not found"
    gone = [row for row in rows if not (PACKAGE / row).is_dir()]
    assert not gone, "docs/architecture.md describes packages that do not exist: " + str(gone)


def test_the_changelog_describes_the_version() -> None:
    """One version: ``kubetrust.__version__``; a development version (``0.6.0.dev0``) is the
    changelog's Unreleased section, a release has a section of its own."""
    from kubetrust import __version__

    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = "## [Unreleased]" if ".dev" in __version__ else f"## [{__version__}]"
    assert heading in changelog, f"CHANGELOG.md has no section {heading!r}"
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert not re.search(r"^version\s*=", pyproject, re.MULTILINE), (
        "pyproject.toml states a version of its own; it reads kubetrust.__version__"
    )
