"""Coauthors as written: people by surname + initial, groups by their whole name, placeholders not at all."""

from __future__ import annotations

import pytest

from disambig.coauthors import written_coauthor_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Maxime Oquab", "oquab_m"),
        ("Oquab M", "oquab_m"),
        ("et al.", ""),
        ("Et Al", ""),
        ("and others", ""),
        ("others", ""),
        ("Anonymous", ""),
        ("[No authors listed]", ""),
        ("Various", ""),
        ("u. a.", ""),
        ("and", ""),
        # A real name that only contains a placeholder's words is still a person.
        ("Andrea Various", "various_a"),
        ("...", ""),
        ("", ""),
        ("CMS Collaboration", "group:cms collaboration"),
        ("The CMS Collaboration", "group:cms collaboration"),
        ("ATLAS Collaboration", "group:atlas collaboration"),
        ("FinnDiane Study Group", "group:finndiane study group"),
        ("COVID-19 Genomics UK (COG-UK) Consortium", "group:covid 19 genomics uk cog uk consortium"),
        # A one-word name is a person, even when the word could name a group; a mononym is
        # matched under its own initial, as "Sukarno S" writes it.
        ("Team", "team_t"),
        ("Sukarno", "sukarno_s"),
        ("Sukarno S", "sukarno_s"),
    ],
)
def test_written_coauthor_key(raw: str, key: str) -> None:
    assert written_coauthor_key(raw)[0] == key
