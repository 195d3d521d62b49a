"""The user manual (docs/manual/): no broken picture, no page a reader cannot reach from the index, no link to a
page that does not exist. Screenshots come from scripts/manual_screenshots.py; this test needs no browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

MANUAL = REPO_ROOT / 'docs' / 'manual'
PAGES = sorted(MANUAL.glob('*.md'))
# Markdown images ![alt](path) and links [text](path#anchor), skipping web addresses.
IMAGE = re.compile(r'!\[[^\]]*\]\(([^)\s]+)\)')
LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s#]*)(?:#[^)\s]*)?\)')
ANCHORED_LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s#]*)#([^)\s]+)\)')
HEADING = re.compile(r'^#{1,6} +(.+?) *$', re.MULTILINE)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (accented letters kept), spaces to '-'."""
    return re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-')


def images_of(page: Path) -> list[str]:
    return IMAGE.findall(page.read_text(encoding='utf-8'))


def local_links_of(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text(encoding='utf-8')) if target and '://' not in target]


def test_the_manual_has_the_index_and_a_page_per_audience() -> None:
    names = {page.name for page in PAGES}
    assert {'README.md', 'agentes.md', 'gerentes.md', 'administradores.md', 'problemas.md'} <= names


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_every_picture_a_page_shows_exists(page: Path) -> None:
    missing = [image for image in images_of(page) if not (page.parent / image).is_file()]
    assert not missing, f'{page.name} shows pictures that are not there: {missing}'


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_every_page_a_page_links_to_exists(page: Path) -> None:
    missing = [link for link in local_links_of(page) if not (page.parent / link).exists()]
    assert not missing, f'{page.name} links to pages that are not there: {missing}'


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_every_section_a_manual_page_points_to_exists(page: Path) -> None:
    broken = []
    for target, anchor in ANCHORED_LINK.findall(page.read_text(encoding='utf-8')):
        linked = page.parent / target if target else page
        if linked.parent != MANUAL or not linked.is_file():
            continue  # the technical docs' anchors are theirs to keep; missing pages are caught above
        anchors = {github_anchor(heading) for heading in HEADING.findall(linked.read_text(encoding='utf-8'))}
        if anchor not in anchors:
            broken.append(f'{target}#{anchor}')
    assert not broken, f'{page.name} points to sections that are not there: {broken}'


def test_every_manual_page_is_linked_from_the_index() -> None:
    linked = {(MANUAL / link).resolve() for link in local_links_of(MANUAL / 'README.md')}
    unlinked = [page.name for page in PAGES if page.name != 'README.md' and page.resolve() not in linked]
    assert not unlinked, f'pages nobody can reach from docs/manual/README.md: {unlinked}'


def test_every_screenshot_is_used_and_light() -> None:
    """A screenshot no page shows is dead weight in the repository; a heavy one was saved without optimizing."""
    shown = {(page.parent / image).resolve() for page in PAGES for image in images_of(page)}
    pictures = sorted((MANUAL / 'img').glob('*.png'))
    assert pictures, 'no screenshots: run scripts/manual_screenshots.py'
    assert [picture.name for picture in pictures if picture.resolve() not in shown] == []
    assert [picture.name for picture in pictures if picture.stat().st_size > 150 * 1024] == []
