"""Claiming authorship: which author-list spellings a display name can be."""

from __future__ import annotations

import pytest

from paperboard.library.claims import matching_author, names_match


@pytest.mark.parametrize(
    "author",
    ["Zoë Ångström", "Zoe Angstrom", "Z. Ångström", "Angstrom, Zoe", "ZOE ANGSTROM", "Zoë M. Ångström", "Z Angstrom"],
)
def test_diacritics_case_order_and_initials_fold(author):
    assert names_match("Zoë Ångström", author)
    assert names_match("Zoe Angstrom", author)


@pytest.mark.parametrize("author", ["Zoë Anderson", "Bo Ångström", "Angstrom", "Zoë", "", "Ångström Zoë Extra"])
def test_other_people_do_not_match(author):
    assert not names_match("Zoë Ångström", author)


def test_particles_and_hyphens():
    assert names_match("Jan van der Berg", "J. van der Berg")
    assert names_match("Jan van der Berg", "Jan Berg")
    assert names_match("Jean-Luc Picard", "J.-L. Picard")
    assert not names_match("Jan van der Berg", "Jan van der Bergen")


def test_the_matching_author_is_the_one_on_the_list():
    authors = ["Alan Turing", "Z. Ångström", "Bo Chen"]
    assert matching_author("Zoe Angstrom", authors) == "Z. Ångström"
    assert matching_author("Ada Lovelace", authors) is None
    assert matching_author(None, authors) is None
