"""The documentation stays inside the repository: links resolve, nothing points to files it lacks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_relative_link_of_the_readme_and_the_design_notes_exists():
    for page in (ROOT / "README.md", ROOT / "docs" / "design.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+://", target):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_readme_links_the_design_notes_and_their_headings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
               for line in design.splitlines() if line.startswith("## ")}
    assert "](docs/design.md)" in readme
    for anchor in re.findall(r"\]\(docs/design\.md#([^)]+)\)", readme):
        assert anchor in anchors


def test_no_source_or_readme_points_to_files_outside_the_repository():
    texts = [ROOT / "README.md", *sorted((ROOT / "src" / "tgnrank").rglob("*.py"))]
    for path in texts:
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "guide.fr.md" not in text, path
