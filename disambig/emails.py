"""A mention's e-mail address: its own field, or the author's address written in an affiliation.

MEDLINE and the catalogues built on it leave the e-mail field empty and write the address at the
end of an affiliation ("..., Boston, MA, USA. Electronic address: amatousek@partners.org."). An
address found there counts only if its local part carries the author's surname: the address in an
author's affiliation is sometimes a corresponding coauthor's, and a wrong address would link
strangers, while a missed one only leaves a pair to the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from disambig.names import PARTICLES, fold

# The local part takes RFC 5322's characters ("o'brien@", "a&b@"); the domain has a dot. An
# address is what r"[<local>]+@[\w-]+(?:\.[\w-]+)+" finds, found from each "@" (see `addresses`):
# searched for as one pattern, every character of a long run of local-part characters without an
# "@" (a line of letters) starts an attempt that reads the rest of the run, quadratic in its length.
_LOCAL_PART = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]*")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_NOT_LETTERS = re.compile(r"[^a-z]+")
# Long surnames are often cut in user names ("dstenkam" for Stenkamp): their first letters suffice.
STEM_LETTERS = 6
# A short surname ("Li", "Wu", "Jee") must be a word of the local part, give or take initials
# ("liw", "xu.j"): as a mere substring it occurs in too many other names.
SHORT_SURNAME = 4
MAX_INITIALS = 3
_GERMAN_DIGRAPHS = re.compile("ae|oe|ue")
# Local parts of addresses many people share: an institution's or a journal's desk, or what a
# form was filled in with for "no address".
ROLE_ACCOUNTS = frozenset(
    {
        *("info", "contact", "office", "admin", "secretary", "secretariat", "webmaster", "support", "help"),
        *("noreply", "no-reply", "donotreply", "do-not-reply", "mail", "email", "editor", "editorial"),
        *("test", "unknown", "none", "null", "na", "n.a", "xxx"),
    }
)


def normalise_email(email: str) -> str:
    """Lower case, without a "mailto:" prefix or the sentence's final full stop."""
    address = email.strip().lower().removeprefix("mailto:").strip()
    return address.rstrip(".")


def author_email(email: str, affiliations: Iterable[str], surname: str) -> str:
    """The address in the mention's own field ("Ann Lee <ann@x.org>" too), else the first address
    in its affiliations that carries `surname` (folded), else "". A field that holds no address
    ("n/a", "none", "-") has none: equal placeholders would otherwise link strangers as one e-mail."""
    own = next(addresses(normalise_email(email)), None)
    words = _surname_words(surname)
    if own is not None and not _shared_by_many(own, words):
        return own
    if not words:
        return ""
    for affiliation in affiliations:
        for found in addresses(affiliation):
            address = normalise_email(found)
            if any(_carries(address.split("@", 1)[0], word) for word in words):
                return address
    return ""


def addresses(text: str) -> Iterator[str]:
    """The addresses in a text, left to right, as re.finditer would find the pattern above, in
    time linear in the text: an address holds one "@", its local part is the run of local-part
    characters before it (not reaching back into the address found before), its domain what
    _DOMAIN matches after it."""
    start = 0  # where the next local part may begin
    at = text.find("@")
    while at != -1:
        # The run before the "@", read backwards: at most back to the previous "@" or address.
        run = _LOCAL_PART.match(text[start:at][::-1])
        local = run.end() if run else 0
        domain = _DOMAIN.match(text, at + 1) if local else None
        if domain:
            yield text[at - local : domain.end()]
            start = domain.end()
        else:
            start = at + 1
        at = text.find("@", start)


def _shared_by_many(address: str, surname_words: set[str]) -> bool:
    """A role account ("info@lab.org", "noreply@...") or a placeholder ("test@test.com",
    "unknown@unknown.com"): many people's, so no evidence that two mentions are one person's.
    Unless it carries the author's surname: "na@snu.ac.kr" is Na's."""
    local = address.partition("@")[0]
    return local in ROLE_ACCOUNTS and not any(_carries(local, word) for word in surname_words)


def _surname_words(surname: str) -> set[str]:
    """The words of the surname that name it: not its particles ("van", "der", "de")."""
    words = {word for word in _NOT_LETTERS.split(fold(surname)) if word}
    return words - PARTICLES or words


def _carries(local_part: str, surname_word: str) -> bool:
    """Whether an address's local part carries this folded surname word. Names reach here folded
    ("Müller" as "muller") while user names often transliterate ("mueller"): both are tried."""
    letters = _NOT_LETTERS.sub("", local_part)
    if len(surname_word) >= SHORT_SURNAME:
        stem = surname_word[:STEM_LETTERS]
        return stem in letters or stem in _GERMAN_DIGRAPHS.sub(lambda m: m.group(0)[0], letters)
    return any(
        token == surname_word
        or (
            (token.startswith(surname_word) or token.endswith(surname_word))
            and len(token) - len(surname_word) <= MAX_INITIALS
        )
        for token in _NOT_LETTERS.split(local_part)
    )
