"""Files shipped with keras-doctor: the bundled examples and the rule pages.

A wheel carries them inside the package (``_examples``, ``_rule_docs``); a
source checkout or editable install reads them from the repository.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPOSITORY = _PACKAGE.parent.parent


def _first_existing(*candidates):
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def examples_dir():
    return _first_existing(_PACKAGE / "_examples", _REPOSITORY / "examples")


def rule_docs_dir():
    return _first_existing(_PACKAGE / "_rule_docs", _REPOSITORY / "docs" / "rules")


def rule_doc(code):
    """The Markdown page of a finding code, or None."""
    path = rule_docs_dir() / f"{code}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def rule_codes():
    """[(code, the first paragraph of its page, on one line)] for every page, sorted."""
    codes = []
    for path in sorted(rule_docs_dir().glob("*.md")):
        blocks = path.read_text(encoding="utf-8").split("\n\n")
        paragraph = next((b for b in blocks[1:] if b.strip() and not b.lstrip().startswith("#")), "")
        codes.append((path.stem, " ".join(line.strip() for line in paragraph.splitlines())))
    return codes
