"""The README and docs/: every relative link, anchor and picture resolves, and docs/ stays light enough to clone."""

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Markdown links and pictures ``[text](target)``, and HTML ``src="target"``.
LINK = re.compile(r"\]\(([^)\s]+)\)|src=[\"']([^\"']+)[\"']")
DOCS_BUDGET_BYTES = 4_000_000  # issue 32: docs/ under 4 MB, so every clone stays cheap


def pages():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def local_links(page):
    """``(file, anchor)`` of each relative link and picture of a page (no URLs): ``file`` is ``""`` for an
    in-page anchor, ``anchor`` is ``""`` when there is none."""
    for match in LINK.finditer(page.read_text(encoding="utf-8")):
        target = match.group(1) or match.group(2)
        if not re.match(r"^[a-z]+:", target):
            file, _, anchor = target.partition("#")
            yield file, anchor


def local_targets(page):
    """The relative files a page links to (no URLs, no in-page anchors), without their anchors."""
    return [file for file, _ in local_links(page) if file]


def heading_anchors(page):
    """The anchors GitHub gives a Markdown page's headings: lower case, punctuation dropped, spaces as hyphens
    (a repeated heading's ``-1``, ``-2`` … suffixes are not needed by any page and left out)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in text.splitlines() if re.match(r"^#{1,6} ", line)}


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_picture_of_a_page_exists(page):
    missing = [t for t in local_targets(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_a_page_links_to_is_a_heading_of_its_target(page):
    broken = []
    for file, anchor in local_links(page):
        target = page.parent / (file or page.name)
        if anchor and target.suffix == ".md" and target.exists() and anchor not in heading_anchors(target):
            broken.append(f"{file}#{anchor}")
    assert not broken, f"{page.relative_to(ROOT)} links to anchors that are no heading: {broken}"


def test_heading_anchors_follow_githubs_rule(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Today's default GAN (learning rate 8e-4): 3 seeds over 4,680 steps\n```\n# not a heading\n```\n"
                    "## kgen 0.3 — the old one\n#no space, no heading\n")
    assert heading_anchors(page) == {"todays-default-gan-learning-rate-8e-4-3-seeds-over-4680-steps",
                                     "kgen-03--the-old-one"}


def test_the_docs_stay_under_their_size_budget():
    size = sum(f.stat().st_size for f in (ROOT / "docs").rglob("*") if f.is_file())
    assert size < DOCS_BUDGET_BYTES, (f"docs/ holds {size / 1e6:.1f} MB, over its {DOCS_BUDGET_BYTES / 1e6:.0f} MB "
                                      "budget: downscale or leave out figures")


def test_the_link_finder_sees_links_pictures_and_html_images(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](x.md#part) ![b](img/y.png) <img src='z.png'> [web](https://e.org) [here](#top)")
    assert list(local_targets(page)) == ["x.md", "img/y.png", "z.png"]
    os.makedirs(tmp_path / "img")
    (tmp_path / "x.md").write_text("")
    assert [t for t in local_targets(page) if not (tmp_path / t).exists()] == ["img/y.png", "z.png"]


def readme_test_command():
    """The command after ``bash scripts/setup.sh &&`` in the README's second command (the test suite)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^    bash scripts/setup\.sh && (.*python -m pytest.*)$", text, re.MULTILINE)
    assert len(commands) == 1, f"expected one test command in the README; found {commands}"
    return commands[0].strip()


def test_ci_runs_the_readmes_test_command_and_installs_what_it_needs():
    command = readme_test_command()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f".ci/run does not run the README's test command {command!r}"
    if " -n " in f" {command} ":
        assert "pytest-xdist" in (ROOT / "pyproject.toml").read_text(), "-n needs pytest-xdist in the dev extras"


def test_the_fid_recall_plot_draws_one_evaluators_points_and_refuses_a_mix(tmp_path):
    import json
    import subprocess
    import sys

    def study(name, evaluator, fid):
        metrics = {"fid": {"mean": fid, "interval": [fid - 1, fid + 1]},
                   "recall": {"mean": 0.85, "interval": [0.84, 0.86]}}
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(
            json.dumps({"sample_quality": {evaluator: {"models": {"gan:dcgan": metrics}}}}))
        return str(tmp_path / name)

    same, other = study("a", "classifier-aaa", 10.0), study("b", "classifier-bbb", 12.0)
    script = str(ROOT / "scripts" / "plot_fid_recall.py")

    def plot(*points):
        args = [arg for point in points for arg in ("--point", *point)]
        return subprocess.run([sys.executable, script, str(tmp_path / "out.png"), *args], capture_output=True,
                              text=True)

    mixed = plot(("A", same, "gan:dcgan"), ("B", other, "gan:dcgan"))
    assert mixed.returncode != 0 and "different evaluators" in mixed.stderr
    assert not (tmp_path / "out.png").exists()
    missing = plot(("A", same, "vae:dcgan"))
    assert missing.returncode != 0 and "expected entry 'vae:dcgan'" in missing.stderr
    drawn = plot(("A", same, "gan:dcgan"), ("A again", same, "gan:dcgan"))
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
