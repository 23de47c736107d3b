"""A mention's e-mail address, from its field or from its affiliations (MEDLINE style)."""

from __future__ import annotations

import dataclasses

import pytest

from disambig.emails import addresses, author_email
from disambig.engine import Engine
from disambig.mention import Mention
from disambig.model import load_model

MEDLINE_AFFILIATION = "Brigham and Women's Hospital, Boston, MA, USA. Electronic address: amatousek@partners.org."


@pytest.mark.parametrize(
    ("email", "affiliations", "surname", "expected"),
    [
        ("J.Doe@Example.org", [], "Doe", "j.doe@example.org"),
        (" mailto:j.doe@example.org. ", [], "Doe", "j.doe@example.org"),
        ("j.doe@example.org", ["x. other.doe@lab.org"], "Doe", "j.doe@example.org"),  # the field wins
        ("", [MEDLINE_AFFILIATION], "Matousek", "amatousek@partners.org"),
        ("", ["Univ. of Idaho, Moscow, ID 83844, USA. dstenkam@uidaho.edu"], "Stenkamp", "dstenkam@uidaho.edu"),
        ("", ["Sun Yat-sen University. jianglf@mail.sysu.edu.cn"], "Jiang", "jianglf@mail.sysu.edu.cn"),
        ("", ["Leiden. j.a.j.metz@biology.leidenuniv.nl"], "Metz", "j.a.j.metz@biology.leidenuniv.nl"),
        ("", ["Lab A.", "Lab B. Electronic address: m.mueller@uni-bonn.de"], "Müller", "m.mueller@uni-bonn.de"),
        ("", ["Lab B. Electronic address: m.mueller@uni-bonn.de"], "muller", "m.mueller@uni-bonn.de"),  # as parsed
        ("", ["Peking University. wli@pku.edu.cn"], "Li", "wli@pku.edu.cn"),
        ("", ["Tsinghua. li.wei@tsinghua.edu.cn"], "Li", "li.wei@tsinghua.edu.cn"),
        # A corresponding coauthor's address, not this author's: left out.
        ("", ["Paratek Pharmaceuticals, Boston. phiggins@paratekpharm.com"], "Nelson", ""),
        ("", ["Dept. of Surgery. elke.mertens@gmx.de"], "Pauly", ""),
        # A short surname inside a longer word is not the author.
        ("", ["Cornell. phillips@cornell.edu"], "Li", ""),
        ("", ["Leiden. a.vanderberg@uni.nl"], "van der Berg", "a.vanderberg@uni.nl"),
        ("", ["Leiden. derk@uni.nl"], "van der Berg", ""),  # "der" is a particle, not the name
        ("", ["No address here"], "Doe", ""),
        # A field holding no address is no address, and the affiliations are read instead.
        ("n/a", [], "Doe", ""),
        ("None", [], "Doe", ""),
        ("-", ["Lab B. Electronic address: m.mueller@uni-bonn.de"], "Müller", "m.mueller@uni-bonn.de"),
        ("j.doe@", [], "Doe", ""),
        ("o'brien@example.com", [], "O'Brien", "o'brien@example.com"),
        ("John Doe <J.Doe@Example.org>", [], "Doe", "j.doe@example.org"),
        ("j.doe@example.org (corresponding)", [], "Doe", "j.doe@example.org"),
        # Many people's addresses: a desk's, or a form's filler.
        ("info@lab.org", [], "Doe", ""),
        ("noreply@journal.org", [], "Doe", ""),
        ("test@test.com", [], "Doe", ""),
        ("unknown@unknown.com", ["Lab B. Electronic address: doe@uni-bonn.de"], "Doe", "doe@uni-bonn.de"),
        ("na@snu.ac.kr", [], "Na", "na@snu.ac.kr"),  # a role word that is the author's surname
        ("", [], "Doe", ""),
    ],
)
def test_author_email(email: str, affiliations: list[str], surname: str, expected: str) -> None:
    assert author_email(email, affiliations, surname) == expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Lab. Electronic address: amatousek@partners.org.", ["amatousek@partners.org"]),
        ("o'brien@example.com, a&b+c@x.y.org; d@e", ["o'brien@example.com", "a&b+c@x.y.org"]),
        ("a@b.org+c@d.org", ["a@b.org", "+c@d.org"]),  # the next address starts where one ends
        ("a@b@c.org x@@y.org z@y.org", ["b@c.org", "z@y.org"]),
        ("x@localhost, no@dot, @lab.org, -@lab.org", ["-@lab.org"]),
        ("müller@uni-bonn.de", ["müller@uni-bonn.de"]),
        ("a" * 5_000 + "@", []),
        ("", []),
    ],
)
def test_addresses_are_found_left_to_right(text: str, found: list[str]) -> None:
    assert list(addresses(text)) == found


def _medline_pair(address: str) -> list[Mention]:
    """Two "Matousek A" mentions with nothing in common but, maybe, the address at the end of
    affiliations that are otherwise different (so their cosine stays low)."""
    first = "Department of Surgery, Brigham and Women's Hospital, Harvard Medical School, Boston, MA 02115, USA."
    second = "Division of Developmental Biology, Whitehead Institute for Biomedical Research, Cambridge, MA 02142."
    return [
        Mention("m1", "Matousek A", title="Sepsis outcomes in surgical wards", affiliations=(f"{first} {address}",)),
        Mention("m2", "Matousek A", title="Gene expression in zebrafish fins", affiliations=(f"{second} {address}",)),
    ]


@pytest.mark.parametrize("address", ["", "Electronic address: amatousek@partners.org."])
def test_an_address_written_in_the_affiliations_links_like_the_email_field(address: str) -> None:
    assignments = Engine(load_model()).cluster(_medline_pair(address))
    assert (assignments[0].identity_id == assignments[1].identity_id) == bool(address)


@pytest.mark.parametrize(
    ("field", "placeholder"),
    [
        *[("email", p) for p in ("n/a", "none", "info@lab.org")],
        *[("orcid", p) for p in ("n/a", "none", "0000-0000-0000-0000")],
    ],
)
def test_a_placeholder_shared_by_strangers_does_not_link_them(field: str, placeholder: str) -> None:
    """Catalogues fill empty identifier fields with placeholders; equal placeholders are no
    evidence. The same pair with one real address, or one valid ORCID, is linked."""
    first = Mention("m1", "J. Smith", ("A. Kumar",), "Sepsis outcomes in surgical wards", venue="Lancet", year=2001)
    second = Mention("m2", "J. Smith", ("B. Olsen",), "Quark masses on the lattice", venue="Phys. Rev. D", year=2019)
    engine = Engine(load_model())
    real = {"email": "j.smith@example.org", "orcid": "0000-0002-1825-0097"}[field]
    for value, linked in ((placeholder, False), (real, True)):
        pair = [dataclasses.replace(m, **{field: value}) for m in (first, second)]
        assignments = engine.cluster(pair)
        assert (assignments[0].identity_id == assignments[1].identity_id) == linked, (field, value)
