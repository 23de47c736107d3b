"""Parsing author names as catalogues write them, and deciding given-name compatibility.

Every form below parses to the same surname and given-name parts:
"Daniel Haziza", "Haziza, Daniel", "D. Haziza", "HAZIZA D", "Haziza D.".
So do "Ajay K. Gupta", "GUPTA, Ajay K.", "GUPTA Ajay K.", "Ajay K. GUPTA" and "Ajay K. Gupta1,2",
and "Gupta AK", "GUPTA AK", "Gupta, AK", "A.K.Gupta" (benchmarks/name_styles.py checks whole
files in each catalogue style). Diacritics are folded by anyascii (a maintained transliteration
table), so "José García-Márquez" and "Jose Garcia-Marquez" share a block. Leading titles
("Dr. John Smith", "Müller, Prof. Dr. Hans"), academic ones ("Dr. med. Hans Müller", "PD Dr. Eva
Braun", "Ing. Jan Novák", "Müller, Hans, Dr. med.") and trailing degrees ("John Smith, MSc") are
dropped, as are Spanish and Portuguese particles between given names: "María del Carmen López",
"López, M. del C." and MEDLINE's "López MdC" have the given names of "López MC". So are nicknames
in quotes ('Robert "Bob" Smith', as "Robert (Bob) Smith"). The "e" and "y" of compound surnames are
no initials ("Ana de Souza e Silva", MEDLINE's "Souza e Silva A", "José Ortega y Gasset"), nor are
Dutch "'t" ("Gerard 't Hooft"); "O Brien P" is O'Brien, and "Patrick O Brien" may be. A Vietnamese
name written family name first is read so ("Nguyen Van Anh" as "Van Anh Nguyen"), and so is a
Russian, Ukrainian or Belarusian one with its patronymic ("Ivanov Ivan Ivanovich" as "Ivan
Ivanovich Ivanov"). A name written in Chinese characters or Korean Hangul ("王小明", "김민준")
is read family name first, as its pinyin or conventional romanisation ("Xiaoming Wang",
"Minjun Kim").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import lru_cache

from anyascii import anyascii
from nicknames import NickNamer
from rapidfuzz.distance import Levenshtein

from disambig.given_spellings import spelled_alike
from disambig.markup import name_without_markup

# Generation marks and degrees written after a name; only degrees that cannot be a name ("MA",
# "BA", "MS" are not here: "Ma" is a surname, "MS" MEDLINE initials).
SUFFIXES = frozenset(
    {
        *("jr", "sr", "ii", "iii", "iv", "v", "esq"),  # ordinals ("3rd") go with _ORDINAL
        *("phd", "md", "msc", "bsc", "mba", "mph", "dphil", "pharmd", "csc", "drsc", "thd", "mbchb", "mbbs"),
        *("frcs", "facs", "frcp", "mrcp"),
        # Nursing, dental, veterinary and other health and academic degrees of medical bylines
        # ("Jane Doe, RN"); not those of two letters that MEDLINE's initials often are (JD, DO, PA).
        *("rn", "bsn", "msn", "dnp", "aprn", "crna", "dds", "dmd", "dvm", "bds", "mds", "psyd", "edd"),
        *("drph", "scd", "dsc", "rph", "dpt", "mbbch", "faan", "facp", "facc", "frcpc", "frcsc", "mrcs"),
        *("frs", "obe", "mbe", "cbe"),
    }
)
# Portuguese generation words that end a surname: Filho (son), Neto (grandson), Sobrinho (nephew),
# Júnior, as MEDLINE reads them ("Oliveira Filho JC"). Alone they are a surname ("Neto, João").
GENERATION_SURNAME_WORDS = frozenset({"filho", "filha", "neto", "neta", "sobrinho", "sobrinha", "junior"})
_SURNAME_WORDS = re.compile(r"[\s\-]+")
_GENERATION_ENDINGS = tuple(f"{sep}{word}" for word in GENERATION_SURNAME_WORDS for sep in (" ", "-"))
_NOT_LETTER = re.compile(r"[^a-z]")
# Roles a library catalogue or a reference list writes after a name ("Smith, John, editor.",
# "J. A. Smith, ed."): words, or in lower case only, abbreviations ("Smith, Ed" is Ed Smith).
_ROLE_WORDS = frozenset({"editor", "editors", "translator", "translators", "compiler", "illustrator", "author"})
_ROLE_ABBREVIATIONS = frozenset({"ed", "eds", "trans", "transl", "comp", "ill"})
# A catalogue's dates after a name: "1950-", "1950-2010", "d. 1890", "b. 1921", "fl. 1870", "ca. 1500-";
# or what is left of them once the trailing digits went as a byline marker ("d.").
_LIFE_DATES = re.compile(r"(?:(?:b|d|fl|ca|c)\.\s*)?\d{3,4}\??\s*(?:-\s*(?:\d{3,4}\??)?)?\.?|(?:b|d|fl|ca|c)\.")
# Words that make a piece after a comma an affiliation, not a name ("John A. Smith, University of
# Oxford"): that piece and every piece after it are dropped.
_AFFILIATION_WORDS = frozenset(
    {
        *("university", "universitat", "universidad", "universidade", "universite", "universita", "univ"),
        *("institute", "institut", "instituto", "istituto", "department", "dept", "departamento"),
        *("hospital", "college", "school", "faculty", "laboratory", "laboratories", "centre", "center"),
        *("academy", "clinic", "foundation", "inc", "ltd", "gmbh", "corporation"),
    }
)
# Honorifics written before the given names ("Dr. John Smith", "Smith, Prof. Dr. John").
TITLES = frozenset(
    {
        *("dr", "prof", "professor", "mr", "mrs", "ms", "mx", "miss", "sir", "dame"),
        # Clergy, military, engineering and South and Southeast Asian honorifics of bylines.
        *("rev", "revd", "capt", "lt", "sgt", "engr", "smt", "shri", "hj", "hjh"),
    }
)
# Titles that are also family names ("Ousmane Dame", in either order "Dame Ousmane").
_NAME_LIKE_TITLES = frozenset({"sir", "dame", "miss"})
# Academic titles and degrees of Central European, Italian, Spanish, Dutch, Polish and Indonesian
# listings that are no names, dropped as TITLES are: "MUDr. Jan Novák", "RNDr.", "PhDr.", "JUDr.",
# "Mgr.", "Doz.", "Dipl. Ing.", "Dott. Mario Rossi", "Dra. María García", "Drs.", "Ir.", "inż.".
ACADEMIC_TITLES = frozenset(
    {
        *("mudr", "mvdr", "mddr", "rndr", "phdr", "judr", "paeddr", "thdr", "thlic", "pharmdr", "rsdr"),
        *("mgr", "doz", "dipl", "dott", "dra", "drs", "ir", "inz"),
    }
)
# Academic titles that are also names ("Ing", "Mag", "Doc", and "Hon.", "Col.", "Gen.", "Sri.", Turkish
# "Uzm. Dr.", "Op. Dr."): titles only with their dot, and at the
# start of a name only before a given name and a surname ("Ing. Jan Novák"; "Ing. Wang" stays).
DOTTED_TITLES = frozenset({"ing", "mag", "doc", "hon", "col", "maj", "gen", "sri", "uzm", "op"})
# Words that are titles only right before another title: "PD Dr. Eva Braun" (but MEDLINE "PD Smith"),
# "Assoc. Prof.", "Asst. Prof.", Turkish "Yrd. Doç. Dr.", "Univ. Prof.", "Priv. Doz.", "apl. Prof.",
# "ao. Univ.-Prof.", "o. Prof." (a lone letter only in lower case, in a name that is not all lower
# case).
TITLE_PREFIXES = frozenset({"pd", "priv", "univ", "ao", "apl", "a", "o", "assoc", "asst", "adj", "yrd"})
# The first part of a hyphenated title: "Dr.-Ing.", "Dipl.-Ing.", "Dipl.-Kfm.", "Univ.-Prof.", "Priv.-Doz.".
_COMPOUND_TITLE_HEADS = frozenset({"dr", "prof", "dipl", "univ", "priv"})
# What a degree is qualified by, its faculty, honour or rank: "Dr. med.", "Dr. rer. nat.", "Dr. phil.
# habil.", "Dr.-Ing. habil.", "Dr. h.c. mult." (`_HONORIS_CAUSA`), "Mag. pharm.", "dr hab. inż.",
# "Ing. arch.", "Prof. em.", "Dott.ssa". Dropped only right after a degree of `_QUALIFIED_TITLES` (or
# another qualifier), and only with a dot or in lower case in a name that is not all lower case:
# "Dr. phil. Jan Novák", but "Dr. Phil Collins" and "Dr. Nat Smith".
DEGREE_QUALIFIERS = frozenset(
    {
        *("med", "dent", "vet", "univ", "rer", "nat", "pol", "oec", "soc", "publ", "phil", "jur", "iur"),
        *("theol", "habil", "hab", "techn", "sc", "scient", "agr", "mont", "paed", "hum", "biol", "math"),
        *("medic", "troph", "hort", "silv", "pharm", "mult", "ing", "inz", "arch", "ssa", "em", "emer"),
        "emeritus",
    }
)
# The words a run of titles can start with.
_FIRST_TITLE_WORDS = TITLES | ACADEMIC_TITLES | DOTTED_TITLES | TITLE_PREFIXES | _COMPOUND_TITLE_HEADS
_QUALIFIED_TITLES = frozenset({"dr", "mag", "dott", "prof", "professor", "ing"})
# Lower-case surname particles: kept with the surname ("van der Berg"), never taken as given names.
PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "del",
        "della",
        "dos",
        "do",
        "das",
        "los",
        "las",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "bin",
        "ibn",
        "al",
        "el",
        "st",
        "mac",
        "af",
        "zu",
        "vom",
        "des",
        "lo",
        "y",
        # "Mary St. John" as "Mary St John"; Dutch "'t" and "'s" ("Gerard 't Hooft"), kept with
        # their apostrophe by `_clean_tokens` so that they are no initials T and S.
        "st.",
        "'t",
        "'s",
    }
)
# Spanish and Portuguese particles between given names ("María del Carmen", "Maria de Fátima",
# "María de los Ángeles", "Juan de Dios", "Maria das Graças", "M. del C."): no given-name parts, so
# that the name fits MEDLINE's "López-García MC". A run of them is one of these.
GIVEN_NAME_PARTICLES = frozenset(
    {("de",), ("del",), ("da",), ("das",), ("do",), ("dos",), ("de", "la"), ("de", "las"), ("de", "los"), ("y",)}
)
_PARTICLE_WORDS = PARTICLES | {word for run in GIVEN_NAME_PARTICLES for word in run}
# Given names that follow a particle and another given name, Marian and devotional ones: "María del
# Carmen", "Maria de Fátima", "José de Jesús", "Juan de Dios", "Maria das Graças". A name ending in
# one ("LOPEZ GARCIA MARIA DEL CARMEN") may be written surname first: the corpus votes. Many are
# surnames too ("de Jesús", "del Rosario", "do Carmo"), which the vote decides.
DEVOTIONAL_GIVEN_NAMES = frozenset(
    {
        *("carmen", "pilar", "rosario", "mar", "rocio", "socorro", "consuelo", "fatima", "lourdes"),
        *("jesus", "dios", "gracas", "carmo", "angeles", "mercedes", "remedios", "dolores", "nieves"),
        *("luz", "paz", "guadalupe", "loreto", "refugio", "soledad", "sagrario", "asuncion"),
        *("concepcion", "conceicao", "nazare", "penha", "gloria", "milagros", "montserrat"),
    }
)
# The conjunctions of compound surnames, "Ana de Souza e Silva", "José Ortega y Gasset": never
# initials, and the Spanish "y" a particle only there ("Wei Y Zhang" has the initial Y). The
# Spanish compound is the surname, as catalogues enter it (LILACS: "Cotarelo y Mori, Emílio";
# MEDLINE "Ortega y Gasset J"). For the Portuguese "e", where
# the surname is read it is the last word, as Brazilian catalogues enter such a name (LILACS,
# after AACR-2: "Silva, Ovídio Saraiva de Carvalho", the compound only when hyphenated), and the
# compound "de Souza e Silva" is the second reading the corpus may choose, as "Souza e Silva A"
# or "de Souza e Silva, Ana" write it (MEDLINE enters a name as the article gives it, so both
# forms occur there).
SURNAME_CONJUNCTIONS = frozenset({"e", "y"})
# Irish surnames written with O' ("O'Brien"), without it: an export that loses the apostrophe writes
# "Patrick O Brien", which cannot be told from a middle initial O ("Sara O Vargas", "Daniel O Stram"
# in MEDLINE's full names) but by the corpus, and only for these. The corpus votes: O'Brien when
# its firm names have it more often than Brien (`_open_to_two_word_surname`). "O Brien P"
# (MEDLINE without the apostrophe) can only be O'Brien.
IRISH_O_SURNAMES = frozenset(
    {
        *("brien", "brian", "neill", "neil", "connor", "conner", "connell", "sullivan", "reilly", "donnell"),
        *("donoghue", "donohue", "donovan", "callaghan", "keeffe", "keefe", "mahony", "mahoney", "shea"),
        *("leary", "dwyer", "driscoll", "rourke", "hara", "hare", "malley", "regan", "grady", "doherty"),
        *("dowd", "flaherty", "gorman", "halloran", "hanlon", "kane", "kelly", "toole", "riordan", "meara"),
        *("mara", "farrell", "carroll", "byrne", "boyle", "loughlin", "dea", "higgins", "hagan", "gara"),
        *("flynn", "shaughnessy", "hehir", "neal", "keane"),
    }
)
# Common Vietnamese family names (folded: Nguyễn, Trần, Lê, Đỗ ...) and the middle names Văn and
# Thị. A name of three or more words that starts with one and then the other is written family
# name first, as Vietnamese names are: "Nguyen Van Anh" is Nguyen, Van Anh (MEDLINE's "Nguyen VA"),
# and its "Van" no Dutch particle, nor its "Le" or "Do" a French or Portuguese one.
VIETNAMESE_SURNAMES = frozenset(
    {
        *("nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do", "ho"),
        *("ngo", "duong", "ly"),
    }
)
_VIETNAMESE_MIDDLE_NAMES = frozenset({"van", "thi"})
# Chinese, Korean and Vietnamese surnames of two letters: written in capitals after the given names
# ("Wei LI", "Van Thanh DO") they look like MEDLINE's initials ("Wei LI" as Wei, L. I.), which the
# corpus's style decides (CAPITALS_LAST). Initials that are no such surname ("Smith JA") are
# initials. Three capitals that start with a consonant are read as a capitals surname already
# ("Minsoo KIM", "Wei LIU": `_upper_surname`), so of those only the ones that start with a vowel.
SHORT_EAST_ASIAN_SURNAMES = frozenset(
    {
        *("li", "ma", "wu", "xu", "hu", "yu", "he", "lu", "du", "gu", "su", "fu", "ye", "ji", "xi", "qi"),
        *("ni", "yi", "ou", "bi", "mo", "ge", "ke", "pu", "mu", "le", "do", "ho", "vo", "vu", "ly", "ko"),
        *("oh", "an", "ng", "ha", "ong", "lo", "au", "ip", "na", "ta", "to", "lv", "mi", "bo", "di", "bu"),
        *("tu", "ku", "ci", "ai", "ao", "qu", "ru", "zu", "ju"),
    }
)
# An East Slavic patronymic, folded, after a stem of two or more letters: Russian -ovich, -evich
# (-ievich, -yevich), -ovna, -evna, -ichna (Il'inichna); Ukrainian -ovych, -evych, -ivna;
# Belarusian -avich, -auna, -euna. anyascii reads the Cyrillic so: Иванович Ivanovich, Сергеевна
# Sergeevna, Григорович Grigorovich, Іванівна Ivanivna, Аляксандравіч Alyaksandravich,
# Аляксандраўна Alyaksandrauna. Not a bare -ich, the end of German given names (Friedrich, Ulrich)
# and of a few patronymics only (Il'ich); nor Serbo-Croatian -ić, -ović, which fold without the h
# (Petrović is Petrovic) and are surnames.
_PATRONYMIC = re.compile(r"[a-z]{2,}(?:ovich|evich|avich|ovych|evych|ovna|evna|ichna|ivna|auna|euna)")
# The endings of East Slavic family names, folded (Ivanov, Ivanova, Ilyin, Tolstoy, Tolstaya,
# Dostoevsky, Shevchenko, Kovalchuk, Yanukovych, Abramovich, Bykau): a name read family name first
# for its patronymic starts with one, where a Western name with a Slavic surname last starts with a
# given name ("Tatiana Maria Petrovich", "Goran Milan Markovich").
_EAST_SLAVIC_FAMILY_NAME = re.compile(
    r"[a-z]{2,}(?:ov|ev|in|yn|ova|eva|ina|yna|aya|oy|ky|iy|ii|yi|ki|ska|ko|uk|ak|ych|ich|au|ets)"
)
# The runs that may be capitalised in a name in mixed case ("Maria Del Carmen"): not "De", "Da", "Do"
# or "Das", which are Chinese, Vietnamese and Indian given names too ("Xiao De Ming", "Ram Das").
_CAPITALISED_GIVEN_NAME_PARTICLES = frozenset({("del",), ("dos",), ("de", "la"), ("de", "las"), ("de", "los")})
# MEDLINE initials with the particle's initial or the particle in lower case: "MdC", "MdelC", "MdeLA"
# (María del Carmen, María de los Ángeles); only the capitals are initials.
_GLUED_PARTICLE_INITIALS = re.compile(r"[A-Z]{1,3}(?:d|de|del|da|das|do|dos)[A-Z]{1,3}\.?")
# "Mdel" before a last initial ("López-García Mdel C"): a capital that is no vowel, so no name
# ("Adel", "Ada", "Udo", "Ido").
_PARTICLE_INITIAL = re.compile(r"[B-DF-HJ-NP-TV-Z]{1,2}(?:d|de|del|da|das|do|dos)")
_LAST_INITIALS = re.compile(r"[A-Z]{1,2}\.?")
# A given name abbreviated to more than its first letter: Russian transliterations of one Cyrillic
# letter (Yu. for Yuri, Zh. for Zhores, Kh., Ch., Sh., Shch., Ts., Ya., Ye., Yo., and PubMed's Iu.,
# Ia.) and the older Western Th., Ph., Chr. (Thomas, Philippe, Christian). Read as the initial of
# their first letter: "Yu. A. Ivanov" is Y. A. Ivanov, compatible with Yuri A. Ivanov, where the
# word "yu" was a given name of its own that no "Yuri" could match. Written with a dot
# ("Yu.", "Yu.A.", "Zh.I."), or glued to other initials in MEDLINE's way ("Ivanov YuA", "Alferov
# ZhI"); "Yu" alone is a Chinese given name.
# In capitals, only glued to another initial with dots ("IVANOV YU.A."): "YU." alone may be a
# Chinese given name with a stray dot.
# Glued, only the Russian ones: "PhD", "ThD" and "MBChB" are degrees.
_GLUED_ABBREVIATION = r"(?:Shch|Yu|Ya|Ye|Yo|Iu|Ia|Zh|Kh|Sh|Ts)"
_ABBREVIATION = r"(?:S(?i:hch)|C(?i:hr)|Y(?i:[uaeo])|I(?i:[ua])|[ZKCS](?i:h)|T(?i:[sh])|P(?i:h))"
_ABBREVIATED_INITIAL = re.compile(rf"{_ABBREVIATION}|[A-Z]")
_ABBREVIATED_INITIALS = re.compile(
    rf"(?=.*[a-z]|[^.]+\.-?[^.]+\.)(?=.*[A-Z][A-Za-z])(?:(?:{_ABBREVIATION}|[A-Z])\.-?)+"
    rf"|(?=.*[a-z])(?=.*[A-Z].*[A-Z])(?:{_GLUED_ABBREVIATION}|[A-Z]){{2,4}}"
)

# The kinds of ParsedName.second_reading.
TWO_WORD_SURNAME = "two-word surname"
INITIALS_FIRST = "initials first"
CAPITALS_LAST = "capitals last"
INITIALS_LAST = "initials last"
GIVEN_NAMES_FIRST = "given names first"

_MIN_PREFIX_MATCH = 3
_MIN_TYPO_LENGTH = 5

_ALLOWED = re.compile(r"[^A-Za-z.,'\- ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A name split into a folded surname and folded given-name parts (initials are one letter)."""

    surname: str
    given: tuple[str, ...]
    given_display: str = ""
    surname_display: str = ""
    order_ambiguous: bool = False
    # The other reading of an ambiguous name of three or more words ("GUPTA AJAY K."), for
    # `swapped`: once split into surname and given parts, it no longer shows which word came first;
    # or, for a name that may have a two-word surname, that reading.
    alternative: ParsedName | None = field(default=None, repr=False, compare=False)
    # A second reading (`alternative`) the corpus may choose (blocking.resolve_name_order): for
    # TWO_WORD_SURNAME, "José García Márquez" with the surname García Márquez, as Spanish names
    # often have; for INITIALS_FIRST, Google Scholar's "JA Smith" as J. A. Smith rather than with
    # the capitals surname of "LI Wei"; for CAPITALS_LAST, "Wei LI" as Li, Wei rather than MEDLINE's
    # Wei, L. I.; for GIVEN_NAMES_FIRST, "Ivanov Ivan Ivanovich" read as Western names are, with the
    # surname Ivanovich. Unlike a name of ambiguous word order, its own reading still counts as a
    # vote for other names.
    second_reading: str = ""
    # A surname written in capitals that cannot be initials ("HAZIZA Daniel", "GUPTA Ajay"): a
    # corpus with such names writes surnames in capitals, so its "MA Lin" is Ma, not M. A. Lin.
    capitals_surname: bool = False
    # Initials after the surname that cannot be a word ("Gupta AK", "Haziza D."): a corpus with such
    # names writes MEDLINE's "Surname Initials", so its "Wei LI" is Wei, L. I.
    initials_last: bool = False

    @property
    def display(self) -> str:
        return f"{self.given_display} {self.surname_display}".strip()

    @property
    def first(self) -> str:
        return self.given[0] if self.given else ""

    @property
    def middle(self) -> tuple[str, ...]:
        return self.given[1:]

    @property
    def first_initial(self) -> str:
        return self.first[:1]

    @property
    def initials(self) -> str:
        return "".join(part[:1] for part in self.given)

    @property
    def surname_key(self) -> str:
        """The surname's letters; without a trailing Portuguese generation word ("Oliveira Filho",
        "Silva Júnior"), which one listing writes and the next drops ("Silva Jr.", "Oliveira J")."""
        surname = self.surname
        if surname.endswith(_GENERATION_ENDINGS):  # a block key is read often: one test, no split
            surname = "".join(_SURNAME_WORDS.split(surname)[:-1])
        return _NOT_LETTER.sub("", surname)

    @property
    def block_key(self) -> str:
        # A name of one word is blocked under its own initial: Indonesian and South Indian
        # mononyms ("Sukarno") are written "Sukarno S" by Scopus and "Sukarno Sukarno" by Crossref.
        return f"{self.surname_key}_{self.first_initial or self.surname_key[:1]}"

    @property
    def full_key(self) -> str:
        """Surname plus all given parts: the 'same name string' key."""
        return f"{self.surname_key}_{'_'.join(self.given)}"

    @property
    def has_full_first(self) -> bool:
        return len(self.first) > 1

    def as_initials(self) -> str:
        """'Ajay K. Gupta' -> 'A. K. Gupta'."""
        given = " ".join(f"{part[0].upper()}." for part in self.given)
        return f"{given} {self.surname_display}".strip()


def fold(text: str) -> str:
    """Unicode to lower-case ASCII, diacritics and ligatures folded."""
    return anyascii(unicodedata.normalize("NFKC", text)).lower()


def _folded_letters(text: str) -> str:
    """`fold(text)` with its letters only: "Il'inichna" -> "ilinichna", "inż." -> "inz"."""
    return re.sub(r"[^a-z]", "", fold(text))


_VOWELS = frozenset("aeiou")
# One syllable of the three-letter surnames written in capitals after the given names ("Minsoo
# KIM", "Wei LIU", "Ana LEE", "Jon FOX", "Amit DAS", "Wen HSU"): a consonant or an onset digraph,
# one or two vowels, then at most one of the consonants such surnames end in. MEDLINE's three
# initials mostly are no such syllable ("Santos MFO", "Smith JAB", "Costa ALB").
_SHORT_SURNAME_SYLLABLE = re.compile(r"(?:[b-df-hj-np-tv-z]|ch|sh|zh|ng|kh|th|hs|ts|jh)[aeiouy]{1,2}[nmkhwxysl]?")
_APOSTROPHES = frozenset("'`\u00b4\u02b9\u02bc\u2018\u2019\u2032")
_MOJIBAKE = frozenset("?\ufffd")  # a letter lost in a bad transcoding: dropped, never a word break
_PLAIN_ASCII = re.compile(r"[A-Za-z .,'\-]*")
_WORD_BREAKS = re.compile(r"[\s,]+")
_PARENTHESISED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# A nickname in quotes, straight or curly, double or single: 'Robert "Bob" Smith', "Robert 'Bob'
# Smith". The quote opens a word and closes one (before a space, a comma or the end), so an
# apostrophe inside a surname ("O'Brien", "D'Angelo") or after it (MEDLINE's "Visona'") is none.
_QUOTED = re.compile(
    r"(?<!\S)(?:[\"\u201c\u201d\u201e\u00ab][^\"\u201c\u201d\u201e\u00ab\u00bb,]+[\"\u201c\u201d\u00bb]"
    r"|['`\u2018\u2019][^'`\u2018\u2019,\s][^'`\u2018\u2019,]*['`\u2018\u2019])(?=[\s,]|$)"
)
# A name copied from a citation keeps its "et al." ("Smith J, et al."): it names no one.
_ET_AL_WORDS = r"et\.?\s*al(?:ii|\.)?"
# One separator only: "[\s,;]+" before it backtracked over every run of commas (quadratic).
_ET_AL = re.compile(rf"(?:^|[\s,;]){_ET_AL_WORDS}\s*$", re.IGNORECASE)
# What an author list writes for the authors it leaves out: "et al.", "and others" (BibTeX), "...".
_LEFT_OUT = re.compile(rf"(?:and\s+)?(?:{_ET_AL_WORDS}|others|etc\.?|\.{{3}}|…)", re.IGNORECASE)


# A generation written as an ordinal ("John Smith 3rd", "Smith JA 2nd", "Smith J, 4th, MD"): read
# as a word it was the surname ("rd"), for digits are no letters of a name.
_ORDINAL = re.compile(r"(?<![^\s,])[0-9]{1,2}(?:st|nd|rd|th)\.?(?=$|[\s,*])", re.IGNORECASE)


def without_et_al(name: str) -> str:
    """The name without a trailing "et al." copied from a citation ("Smith J, et al.")."""
    found = _ET_AL.search(name)
    return name if found is None else name[: found.start()].rstrip(" \t\r\n,;")


def stands_for_left_out_authors(entry: str) -> bool:
    """Whether an entry of an author list stands for the authors it leaves out ("et al.")."""
    return _LEFT_OUT.fullmatch(entry.strip()) is not None


def _reads_as_word(letters: str) -> bool:
    """Whether 2 or 3 capitals without dots can be a word ('LI', 'MA', 'KIM', 'ALI') and not
    initials ('JC', 'AK', 'SY', 'JRR'): three letters with a vowel; two that read as a syllable,
    a consonant and a vowel ('LI', 'KE'), two vowels ('OU'), a vowel and n ('AN'), or 'NG'."""
    low = letters.lower()
    if len(low) == 3:
        return any(ch in _VOWELS for ch in low)
    if len(low) != 2:
        return False
    first, second = low[0], low[1]
    if first in _VOWELS:
        return second in _VOWELS or second == "n"
    return second in _VOWELS or low == "ng"


def _is_initials_token(token: str, all_upper: bool) -> bool:
    """'D', 'D.', 'J.C.', 'JC'; in a name written all in capitals, 'JC' or 'DL' but not 'LI' or 'ALI';
    'MdC' and 'MdelC' (`_GLUED_PARTICLE_INITIALS`)."""
    if _GLUED_PARTICLE_INITIALS.fullmatch(token):
        return True
    if _ABBREVIATED_INITIALS.fullmatch(token):
        return not _is_suffix(token)  # "Ph.D.", "Th.D."
    letters = token.replace(".", "").replace("-", "")
    if not letters or not letters.isalpha():
        return False
    if "." in token:
        if all(len(seg) <= 1 for seg in re.split(r"[.\-]", token) if seg) or len(letters) == 1:
            return True
        if all_upper or token.index(".") < len(token) - 1:
            return False  # "Ph.D.", "WM." (William), "MCG."; but "Michael HLS." has initials
    if len(letters) == 1:
        return True
    if not letters.isupper():
        return False  # "Jr.", "Md."
    if len(letters) > 3:
        # "BVKV", "JBTM": a long run of capitals is initials only if it has no vowel.
        return not any(ch in "AEIOUY" for ch in letters)
    return not all_upper or not _reads_as_word(letters)  # "JC", "HLS."; in capitals not "LI", "ALI"


def _initial_letters(token: str) -> list[str]:
    """The initials of an initials token, folded: 'J.C.' -> j, c; 'MdelC' -> m, c."""
    if _GLUED_PARTICLE_INITIALS.fullmatch(token):
        return [ch.lower() for ch in token if ch.isupper()]
    if _ABBREVIATED_INITIALS.fullmatch(token):
        return [initial[0].lower() for initial in _ABBREVIATED_INITIAL.findall(token)]
    return [ch for ch in fold(token) if ch.isalpha()]


def _given_name_particles(tokens: list[str], mixed_case: bool) -> set[int]:
    """The positions of Spanish and Portuguese particles between given names (GIVEN_NAME_PARTICLES):
    a run with a given name or initial on both sides ("María del Carmen", "M. del C."), written in
    lower case in a name in mixed case (a few runs capitalised too, "Maria Del Carmen"; "y" only in
    lower case). At the start ("Da Wei Zhang") or end of the given names it stays."""
    found: set[int] = set()
    i = 1
    while i < len(tokens) - 1:
        for size in (2, 1):
            words = tokens[i : i + size]
            run = tuple(word.lower() for word in words)
            after = i + size
            if (
                after < len(tokens)
                and run in GIVEN_NAME_PARTICLES
                and all(word.isalpha() for word in words)
                and tokens[i - 1].lower() not in _PARTICLE_WORDS
                and tokens[after].lower() not in _PARTICLE_WORDS
                and _written_as_given_name_particle(words, run, mixed_case)
            ):
                found.update(range(i, after))
                i = after
                break
        else:
            i += 1
    return found


def _written_as_given_name_particle(words: list[str], run: tuple[str, ...], mixed_case: bool) -> bool:
    if run == ("y",):
        return mixed_case and words == ["y"]
    if not mixed_case or all(word.islower() for word in words):
        return True
    return run in _CAPITALISED_GIVEN_NAME_PARTICLES and all(word.istitle() or word.islower() for word in words)


def _is_conjunction(tokens: list[str], i: int) -> bool:
    """Whether `tokens[i]` is the "e" or "y" of a compound surname (SURNAME_CONJUNCTIONS) after a
    word and before a word or particle: in lower case in a name in mixed case ("Ana de Souza e
    Silva", "Souza e Silva A", "Juan Pérez y de la Fuente"); in a name in one case only before a
    word and then only initials ("SOUZA E SILVA A", "ORTEGA Y GASSET J"), since elsewhere
    "JOHN E SMITH" and "WEI Y ZHANG" have middle initials, as "John E Smith" has."""
    if not 0 < i < len(tokens) - 1 or tokens[i].lower() not in SURNAME_CONJUNCTIONS:
        return False
    after = tokens[i + 1].replace("-", "")
    if not _is_surname_word(tokens[i - 1]) or len(after) < 2 or not after.isalpha():
        return False
    if _mixed_case(tokens):
        return tokens[i].islower()
    rest = tokens[i + 2 :]
    all_upper = "".join(tokens).replace(".", "").isupper()
    return bool(rest) and all(_is_initials_token(t, all_upper) for t in rest)


def _is_particle(tokens: list[str], i: int) -> bool:
    """Whether `tokens[i]` is a surname particle (PARTICLES); the Spanish "y" only as a conjunction."""
    word = tokens[i].lower()
    return word in PARTICLES and (word not in SURNAME_CONJUNCTIONS or _is_conjunction(tokens, i))


# Chinese (pinyin and Wade-Giles) and Korean family names, romanised: a two-word name that starts
# with one and ends in a hyphenated given name of syllables ("Kim Min-su", "Wang Xiao-Ming", "Chang
# Wei-ming") is written family name first. Alone, without a corpus to vote on its word order (a
# registry reads one name at a time), it was read with the surname "minsu".
ROMANISED_FAMILY_NAMES = frozenset(
    {
        *("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma"),
        *("zhu", "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han"),
        *("feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "pan", "yuan", "cai", "jiang"),
        *("yu", "du", "ye", "cheng", "wei", "su", "lu", "ding", "ren", "shen", "yao", "cui", "zhong"),
        *("tan", "fan", "liao", "shi", "jin", "jia", "xia", "fu", "fang", "zou", "xiong", "bai", "meng"),
        *("qin", "qiu", "hou", "yin", "xue", "yan", "duan", "lei", "long", "tao", "mao", "hao", "gu"),
        *("chang", "hsu", "tsai", "chou", "chu", "hsieh", "kuo", "cheung", "wong", "chan", "leung"),
        *("kim", "lee", "park", "choi", "jung", "jeong", "kang", "cho", "yoon", "yun", "jang", "lim"),
        *("oh", "seo", "shin", "kwon", "hwang", "ahn", "ryu", "hong", "jeon", "moon", "bae", "baek"),
        *("nam", "noh", "kwak", "sung", "cha", "joo", "woo", "min", "koo", "chae", "byun", "um"),
    }
)
_ROMANISED_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|ts|hs|kk|tt|pp|ss|jj|[bcdfghjklmnpqrstwxyz])?[aeiouy]{1,3}(?:ng|[nmklpt])?"
)


def _romanised_family_name_first(tokens: list[str]) -> bool:
    """'Kim Min-su', 'Wang Xiao-Ming': a romanised Chinese or Korean family name, then a given
    name of two hyphenated syllables (not 'Lee Ann-Marie')."""
    if fold(tokens[0]) not in ROMANISED_FAMILY_NAMES or "-" not in tokens[1]:
        return False
    parts = fold(tokens[1]).split("-")
    return len(parts) == 2 and all(_ROMANISED_SYLLABLE.fullmatch(part) for part in parts)


def _initials_in_capitals(token: str) -> bool:
    """Whether two capitals alone after a comma, in a name written in capitals, are initials:
    "SMITH, JA" (J. A.), but not a short given name ("WANG, LI", "SMITH, AL"). Read as initials,
    a given name still fits its spelled-out form ("LI" fits Li); read as a word, initials do not
    ("JA" was incompatible with John A.)."""
    low = token.lower()
    return len(low) == 2 and low.isalpha() and low not in SHORT_EAST_ASIAN_SURNAMES and not _nicknames_of(low)


def _vietnamese_middle_name(tokens: list[str], i: int) -> bool:
    """Whether `tokens[i]` is the capitalised Van of a Vietnamese name written given names first,
    before a Vietnamese family name that ends it ("Anh Van Nguyen", "Tuan Van Do"), not the Dutch
    particle ("Jan van Nguyen", "Vincent Van Gogh")."""
    return (
        tokens[i] == "Van" and i == len(tokens) - 2 and fold(tokens[-1]) in VIETNAMESE_SURNAMES and tokens[-1].istitle()
    )


def _is_surname_word(token: str) -> bool:
    """A word that can be part of a surname: no initial, no particle."""
    letters = token.replace("-", "").replace("'", "")
    return len(letters) > 1 and letters.isalpha() and token.lower() not in _PARTICLE_WORDS


def _split_given(tokens: list[str], all_upper: bool) -> tuple[str, ...]:
    parts: list[str] = []
    for i, token in enumerate(tokens):
        inner_particle = all_upper and i < len(tokens) - 1 and token.lower() in PARTICLES
        if _is_initials_token(token, all_upper) and not inner_particle:
            parts.extend(_initial_letters(token))
            continue
        for piece in token.split("-"):
            folded = _folded_letters(piece)
            if folded:
                parts.append(folded)
    return tuple(parts)


def _plain_char(ch: str) -> str:
    """Letters and combining marks kept, any dash as '-', any apostrophe as "'", other symbols,
    digits and punctuation as a space (before anyascii, which would spell '§' or '✉' as letters)."""
    if ch.isalpha() or ch in " .,-'":
        return ch
    if ch.isascii():
        return " "
    category = unicodedata.category(ch)
    if category[0] == "M":
        return ch
    if category == "Pd":
        return "-"
    return "'" if ch in _APOSTROPHES else " "


_APOSTROPHE_PARTICLES = frozenset(word for word in PARTICLES if word.startswith("'"))


# A lone capital that transliterates to two letters (Icelandic "Þ", Danish "Æ", "Œ"): an initial.
_LONE_CAPITAL = re.compile(r"(?<![^\s,.\-])([^\x00-\x7f])(?=[\s,.\-]|$)")


def _initial_of_lone_capital(match: re.Match[str]) -> str:
    letter = match.group(1)
    return anyascii(letter)[:1] if letter.isupper() else letter


def _clean_tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _LONE_CAPITAL.sub(_initial_of_lone_capital, text)  # "Jónsdóttir Þ": T., not the word "Th"
    if not text.isascii() or not _PLAIN_ASCII.fullmatch(text):
        text = "".join(_plain_char(ch) for ch in text)
    text = _ALLOWED.sub(" ", anyascii(text))
    # "J.C.Smith" -> "J.C. Smith", "B.O'Sullivan" -> "B. O'Sullivan"; keep "J.-P." together.
    text = re.sub(r"\.(?=[A-Za-z][A-Za-z'])", ". ", text)
    return [
        tok if tok.lower() in _APOSTROPHE_PARTICLES else tok.strip("'-")
        for tok in _SPACES.split(text.strip())
        if tok.strip(".'-")
    ]


# South and Southeast Asian abbreviations of Muhammad (and Mosammat) before the given name: "Md.
# Saiful Islam", "Mohd Razali Ahmad", "Mst. Nasrin Akter". MEDLINE and Scopus keep them as the initial M
# ("Islam MS"), where "Md." would otherwise be dropped as the MD degree.
_MUHAMMAD_ABBREVIATIONS = frozenset({"md", "mohd", "muhd", "mhd", "mst"})


def _muhammad_as_initial(tokens: list[str], *, words_after: int) -> list[str]:
    """`tokens` with a leading abbreviation of Muhammad read as the initial M: "Md." or "Mohd"
    before any other token, "MD" in capitals (Google Scholar's "MD Smith" is M. D. Smith) before
    `words_after` tokens at least."""
    if len(tokens) < 2 or tokens[0].rstrip(".").lower() not in _MUHAMMAD_ABBREVIATIONS:
        return tokens
    if tokens[0].isupper() and len(tokens) <= words_after:
        return tokens
    return ["M.", *tokens[1:]]


def _is_marker(ch: str) -> bool:
    """Byline residue after a name: affiliation numbers, '*', '†', a stray comma or semicolon."""
    if ch in ".'-" or ch in _APOSTROPHES:
        return False
    return ch.isdigit() or ch.isspace() or unicodedata.category(ch)[0] in "PS"


def _normalise(raw: str) -> str:
    """NFKC, without mojibake '?', parenthesised asides ("Hong (Iris) Xie": a nickname, maiden
    name or transliteration, not a middle name), nicknames in quotes between words ('Robert "Bob"
    Smith'), trailing byline markers ("Gupta1,2", "Gupta*") or a citation's trailing "et al."
    ("Smith J, et al.")."""
    raw = _ORDINAL.sub("", without_et_al(_without_byline_extras(name_without_markup(raw))))
    if raw.isascii() and (raw[-1:].isalpha() or raw[-1:] == ".") and not any(ch in raw for ch in "([?\"'`"):
        return raw  # the usual case, and already normal
    text = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if ch not in _MOJIBAKE)
    without = _drop_quoted_nicknames(_PARENTHESISED.sub(" ", text))
    if any(ch.isalpha() for ch in without):
        text = without
    end = len(text)
    while end and _is_marker(text[end - 1]):
        end -= 1
    return _ORDINAL.sub("", text[:end])  # "John Smith 3rd*": the ordinal the marker hid


# What a byline copied from a web page or PDF carries beside the name: an e-mail address, a URL or
# an ORCID iD ("John A. Smith jsmith@uni.edu", "... https://orcid.org/0000-...", "... ORCID:
# 0000-..."), and the collaboration signed for ("J. Smith for the ATLAS Collaboration", "... on
# behalf of the XYZ Study Group").
_ORCID_LABEL = re.compile(r"orcid(?:id)?:?|id:?", re.IGNORECASE)
_ORCID_DIGITS = re.compile(r"[\dX-]+:?|\(|\)", re.IGNORECASE)


def _without_contact(raw: str) -> str:
    """`raw` without its e-mail addresses, URLs and ORCID iDs, word by word."""
    kept: list[str] = []
    label = False
    for word in raw.split():
        lower = word.lower()
        if "@" in word or "://" in word or lower.startswith(("www.", "<www.", "orcid.org/")):
            continue
        if _ORCID_LABEL.fullmatch(word.strip("()[]<>")) and (label or lower.startswith("orcid")):
            label = True
            continue
        if label and _ORCID_DIGITS.fullmatch(word.strip("()[]<>")):
            continue
        label = False
        kept.append(word)
    return " ".join(kept)


# Each pattern is applied where it cannot backtrack over the whole name: a name from a file has no
# length limit, and a pattern scanning the rest of the text from every position is quadratic.
_SIGNING_FOR = re.compile(r"\s(?:on\s+behalf\s+of|for)\s", re.IGNORECASE)
_GROUP = re.compile(r"\b(?:collaboration|consortium|group|team|investigators|network|study)\b", re.IGNORECASE)
# Affiliation markers written as letters after a capitalised word: "John A. Smith a,b", "J. Smith
# c" (a few, at the end); or as superscript letters, which NFKC would glue to the surname
# ("Smithᵃ", "Smithᵃ,ᵇ"): not "ª" or "º" ("Mª", María), nor a lone letter after initials or in a
# name in lower case.
_MARKER_LETTERS = re.compile(r"\s+(?P<markers>[a-z](?:\s*,\s*[a-z]){0,7})\s*$")
_MARKED_WORD = re.compile(r"\b[A-Z][A-Za-z'\-]*[a-z]$")
_SUPERSCRIPT_LETTERS = frozenset(
    chr(code)
    for span in ((0x1D2C, 0x1D6A), (0x1D9C, 0x1DBF), (0x2071, 0x2071), (0x207F, 0x207F), (0x02B0, 0x02B8))
    for code in range(span[0], span[1] + 1)
)
# A missing part that an export wrote as its null ("null DEGOY"); capitalised, Null is a surname.
_NULL_WORD = re.compile(r"(?<![\w'-])null(?![\w'-])")


def _without_byline_extras(raw: str) -> str:
    if "null" in raw:
        raw = _NULL_WORD.sub(" ", raw)
    if "@" in raw or "/" in raw or "www." in raw or "orcid" in raw.lower():
        raw = _without_contact(raw)
    if " for " in raw or " on " in raw.lower():
        signing = _SIGNING_FOR.search(raw)
        if signing is not None and _GROUP.search(raw, signing.end()) is not None:
            raw = raw[: signing.start()]
    if not raw.isascii():
        raw = _without_superscript_markers(raw)
    tail = raw[-24:]
    marks = _MARKER_LETTERS.search(tail)
    # A lone "e" or "y" may end a compound surname cut short ("Silva, Ana de Souza e").
    if marks is not None and marks["markers"] not in SURNAME_CONJUNCTIONS:
        head = raw[: len(raw) - len(tail) + marks.start()]
        if _MARKED_WORD.search(head[-64:]) is not None:
            raw = head
    return raw


def _without_superscript_markers(raw: str) -> str:
    end = len(raw)
    while end and (raw[end - 1] in _SUPERSCRIPT_LETTERS or raw[end - 1] in " ,"):
        end -= 1
    marked = any(ch in _SUPERSCRIPT_LETTERS for ch in raw[end:])
    return raw[:end] if marked else raw


def _drop_quoted_nicknames(text: str) -> str:
    """`text` without the quoted words that follow a given name: between two words of the name
    ('Robert "Bob" Smith') or last after the surname's comma ('Smith, Robert "Bob"'). A quoted
    whole name, first word or last word without a comma ('"Bob" Smith') is left alone."""
    for match in reversed(list(_QUOTED.finditer(text))):
        before, after = text[: match.start()], text[match.end() :]
        given_before = any(ch.isalpha() for ch in before.rpartition(",")[2])
        if given_before and ("," in before or any(ch.isalpha() for ch in after)):
            text = f"{before} {after}"
    return text


def _is_suffix(token: str) -> bool:
    return token.replace(".", "").lower() in SUFFIXES


def _title_key(word: str) -> str:
    """'Dr.' -> 'dr', 'MUDr.' -> 'mudr', 'inż.' -> 'inz'."""
    word = word.rstrip(".")
    return word.lower() if word.isascii() else _folded_letters(word)


def _written_as_title(token: str, key: str, all_upper: bool) -> bool:
    """Whether `token` (of key `key`, a title) is written as one: with a dot, or not in capitals;
    in capitals without a dot only a long one ("PROF"): "DR Smith" and "MS Smith" are
    MEDLINE initials. One that is also a name only in a name written all in capitals, as elsewhere a
    word in capitals is the surname ("DAME Ousmane")."""
    word = token[:-1] if token.endswith(".") else token
    if token.endswith(".") or not word.isupper():
        return True
    return len(word) > 3 and (all_upper or key not in _NAME_LIKE_TITLES)


def _is_title(token: str, all_upper: bool) -> bool:
    """'Dr', 'Dr.', 'DR.', 'Prof', 'Ms.', 'PROF' (see `_written_as_title`); 'MUDr.', 'MUDr', 'Mgr',
    'Dott.', 'DOTT.', but not 'DOTT' or 'RNDR': an academic title in capitals needs its dot."""
    word = token[:-1] if token.endswith(".") else token
    key = _title_key(token)
    if key in ACADEMIC_TITLES:
        return token.endswith(".") or not word.isupper()
    return key in TITLES and _written_as_title(token, key, all_upper)


# A word at the start of a text with its dot and any hyphenated parts ("Dr.-Ing.", "Priv.-Doz."),
# then spaces or, after a dot, nothing ("Prof.Dr.Hans").
_LEADING_WORD = re.compile(r"\s*(?P<token>(?P<word>[^\W\d_]+\.?)(?:-[^\W\d_]+\.?)*)(?:\s+|(?<=\.))")
# "h.c.", "h. c." (honoris causa) and "E.h." (Ehren halber) after a doctorate: "Dr. h.c. mult.".
_HONORIS_CAUSA = re.compile(r"\s*(?:h\.\s?c|E\.\s?h)\.\s*")


@dataclass(frozen=True, slots=True)
class _Title:
    """A title at the start of a text: where it ends (after its spaces), whether it is also a name
    (then at the start of a name a given name and a surname must follow it), and whether a
    qualifier may follow it ("Dr." before "med.")."""

    end: int
    name_like: bool = False
    qualified: bool = False


def _leading_title(text: str, all_upper: bool, all_lower: bool, *, after_degree: bool = False) -> _Title | None:
    """The title `text` starts with, if any: one of TITLES or ACADEMIC_TITLES, a hyphenated title
    ("Dipl.-Ing."), one of DOTTED_TITLES with its dot, after a degree one of DEGREE_QUALIFIERS, or
    one of TITLE_PREFIXES before another title."""
    if after_degree and (honour := _HONORIS_CAUSA.match(text)):
        return _Title(honour.end(), qualified=True)
    match = _LEADING_WORD.match(text)
    if match is None:
        return None
    token, word, end = match.group("token"), match.group("word"), match.end()
    key = _title_key(word)
    if _is_title(word, all_upper):
        name_like = not word.endswith(".") and key in _NAME_LIKE_TITLES
        return _Title(end, name_like, key in _QUALIFIED_TITLES)
    if token != word:  # "Dipl.-Ing.", "Univ.-Prof.", "Priv.-Doz.", not "Ing-Marie"
        parts = [_title_key(part) for part in token.split("-")]
        if parts[0] in _COMPOUND_TITLE_HEADS:
            return _Title(end, qualified=any(part in _QUALIFIED_TITLES for part in parts))
        return None
    dotted = word.endswith(".")
    if after_degree and key in DEGREE_QUALIFIERS and (dotted or (word.islower() and not all_lower)):
        return _Title(end, qualified=True)
    if dotted and key in DOTTED_TITLES:
        return _Title(end, name_like=True, qualified=key in _QUALIFIED_TITLES)
    if (
        key in TITLE_PREFIXES
        and (len(key) > 1 or (word.islower() and not all_lower))
        and _leading_title(text[end:], all_upper, all_lower) is not None
    ):
        return _Title(end)
    return None


def _leading_titles(text: str, all_upper: bool | None = None) -> list[_Title]:
    """The run of titles `text` starts with ("Prof. Dr. med. Hans Müller": three); `all_upper`
    (whether the whole name is written in capitals) defaults to the text's own case."""
    first = _LEADING_WORD.match(text)
    if first is None or _title_key(first.group("word")) not in _FIRST_TITLE_WORDS:
        return []  # the usual case
    letters = "".join(ch for ch in text if ch.isalpha())
    if all_upper is None:
        all_upper = letters.isupper()
    all_lower = letters.islower()
    titles: list[_Title] = []
    offset, qualified = 0, False
    while title := _leading_title(text[offset:], all_upper, all_lower, after_degree=qualified):
        offset += title.end
        titles.append(replace(title, end=offset))
        qualified = title.qualified
    return titles


def _drop_titles(text: str, *, surname_follows: bool) -> str:
    """The text without the titles it starts with ("Prof. Dr. med. Hans Müller" -> "Hans Müller");
    titles stay when no word follows them ("Dr", "Dr. med."). At the start of a whole name
    (`surname_follows`) a title that is also a name needs two words after the titles: "Dame Judi
    Dench", "Ing. Jan Novák", but "Dame Ousmane", "Ing. Wang"."""
    titles = _leading_titles(text)
    if not titles:
        return text
    words = sum(1 for word in _WORD_BREAKS.split(text[titles[-1].end :]) if any(ch.isalpha() for ch in word))
    end = 0
    for title in titles:
        if words < (2 if surname_follows and title.name_like else 1):
            break
        end = title.end
    return text[end:]


def _is_affiliation(piece: str) -> bool:
    return any(fold(word) in _AFFILIATION_WORDS for word in _WORD_BREAKS.split(piece.replace(".", " ")))


def _is_role_or_dates(piece: str) -> bool:
    """'editor.', 'ed.', 'eds', 'trans.', '1950-', 'd. 1890', '1950- editor.'."""
    words = piece.split()
    while words and (
        words[-1].rstrip(".").lower() in _ROLE_WORDS
        or (words[-1].rstrip(".") in _ROLE_ABBREVIATIONS)  # lower case only
    ):
        words.pop()
    rest = " ".join(words)
    if not rest:
        return bool(piece.split())
    return _LIFE_DATES.fullmatch(rest) is not None


def _written_given_names_first(tokens: list[str], all_upper: bool) -> bool:
    """Whether a piece before a comma is a whole name written given names first, as its initials
    before its last word show: "John A. Smith", "J. A. Smith" (not "Garcia Marquez", which may
    be a surname before its initials)."""
    if len(tokens) < 2:
        return False
    flags = [_is_initials_token(t, all_upper) for t in tokens]
    return not flags[-1] and any(flags[:-1]) and _is_surname_word(tokens[-1])


def _is_title_piece(piece: str, all_upper: bool, *, given_follows: bool) -> bool:
    """Whether a comma-separated piece of a name is titles and degrees only: "Dr. med.", "PD Dr.",
    "Dipl.-Ing. MSc" (not "PD": MEDLINE initials). One that is also a name ("Ing.") only where a
    given name is left (`given_follows`): "Novák, Jan, Ing.", but "Novák, Ing."."""
    titles = _leading_titles(piece, all_upper)
    if not titles or (not given_follows and any(title.name_like for title in titles)):
        return False
    return all(_is_suffix(t) for t in _clean_tokens(piece[titles[-1].end :]))


def _strip_suffixes(
    tokens: list[str], keep: int, all_upper: bool, *, after_comma: bool = False, surname_piece: bool = False
) -> list[str]:
    """Trailing suffixes ("Jr.", "III", "PhD") dropped; in the piece before a comma, never the
    last token left ("Mba, Chidi", "Ii, Kenji": a suffix word that is all the surname there is,
    while "PhD" or "Jr." alone names no one). One that can be
    initials stays when dropping it would leave too few tokens ("Srinivasan V", "Kender JR"), when
    it follows another initial ("Smith J V"), or as a single letter after a comma ("Smith, John V")
    or with a dot ("MARATHE Madhav V."). Elsewhere a suffix is dropped unless it can be initials
    ("Md. Saiful Islam" drops 'Md.', "V. Srinivasan" keeps 'V.')."""
    out = [
        t for i, t in enumerate(tokens) if i == len(tokens) - 1 or not _is_suffix(t) or _is_initials_token(t, all_upper)
    ]
    while len(out) > (1 if surname_piece else 0) and _is_suffix(out[-1]):
        token, rest = out[-1], out[:-1]
        if token.endswith(".") and len(token) == 2:
            break  # "V.": a roman numeral is not written with a dot
        # "Smith JA III": MEDLINE writes all the initials in one word, so a numeral of two
        # letters or more after them is a generation ("Ivanov II", after a surname, is I. I.).
        generation = len(token) >= 2 and bool(rest) and _is_initials_token(rest[-1], all_upper)
        if (
            _is_initials_token(token, all_upper)
            and not generation
            and (
                len(rest) < keep
                or (rest and _is_initials_token(rest[-1], all_upper))
                or (after_comma and len(token.replace(".", "")) == 1)
            )
        ):
            break
        out.pop()
    return out


def _is_upper_word(token: str) -> bool:
    letters = token.replace("-", "").replace("'", "")
    return len(letters) > 1 and letters.isalpha() and letters.isupper()


def _upper_surname(tokens: list[str], initial_flags: list[bool]) -> tuple[list[str], list[str]] | None:
    """(given, surname) of a mixed-case name whose surname is the run of all-capitals words at its
    start or end: "HAZIZA Daniel", "GUPTA Ajay K.", "José GARCIA MARQUEZ", "LIU Yan", "Yan LIU".
    Two or three capitals without dots are initials ("Gupta AK") unless they read as a word
    (`_reads_as_word`) and come first ("LI Wei", "MA Qian", "OOI Beng Chin"; "AK Gupta" stays
    initials), or last, three letters long and starting with a consonant ("Minsoo KIM"; "Wang ATM"
    and "Wei LI", which cannot be told from MEDLINE "Wang LI", stay initials), or the name writes
    its initials with dots ("Philip S. YU").
    Particles in capitals join the run ("Jean-Claude VAN DAMME")."""
    n = len(tokens)
    dotted = any("." in t and flag for t, flag in zip(tokens, initial_flags))

    def word(i: int) -> bool:
        if not initial_flags[i]:
            return True
        letters = tokens[i].replace("-", "")
        if len(letters) < 2 or "." in tokens[i]:
            return False
        if dotted:
            return _reads_as_word(letters) or any(ch in _VOWELS for ch in letters.lower())
        if not _reads_as_word(letters):
            return False
        # "VAN DE POL Jaco", "Luigi DEL RE": a short word after a particle in capitals.
        after_particle = i > 0 and tokens[i - 1].lower() in PARTICLES and _is_upper_word(tokens[i - 1])
        # Last, three letters that read as one syllable ("Minsoo KIM"): "Wang ATM" and "Santos
        # MFO" are MEDLINE's.
        last = i == n - 1 and len(letters) == 3 and _SHORT_SURNAME_SYLLABLE.fullmatch(letters.lower()) is not None
        # First, two letters only if they are such a surname ("LI Wei", "NG Raymond"): Google
        # Scholar's "JA Smith" and "PA Yushkevich" are initials.
        first = i == 0 and (len(letters) > 2 or letters.lower() in SHORT_EAST_ASIAN_SURNAMES)
        return first or after_particle or last

    def upper_at(i: int) -> bool:
        token = tokens[i]
        if not _is_upper_word(token) or "." in token:
            return False
        return word(i) or token.lower() in PARTICLES

    for run in (range(n), range(n - 1, -1, -1)):
        taken = []
        for i in run:
            if not upper_at(i):
                break
            taken.append(i)
        if not taken or len(taken) == n or not word(max(taken)):
            continue  # the surname's last word is a word, not a particle or initials
        rest = [i for i in range(n) if i not in taken]
        if any(_is_upper_word(tokens[i]) and not initial_flags[i] for i in rest):
            continue  # capitals on both sides: no reading
        if not any(not initial_flags[i] for i in rest):
            continue  # "JC LIU" / "LIU JC": initials and a capitals word, left to the other rules
        surname = [tokens[i] for i in sorted(taken)]
        return [tokens[i] for i in rest], surname
    return None


def _pretty(token: str, all_upper: bool) -> str:
    if _is_initials_token(token, all_upper):
        return " ".join(f"{ch.upper()}." for ch in _initial_letters(token))
    return _pretty_word(token)


def _pretty_word(token: str) -> str:
    if token.isupper() or token.islower():
        return "-".join(piece.capitalize() for piece in token.split("-"))
    return token


def _surname_words(tokens: list[str]) -> int:
    """Words of a name that are not lower-case particles: 'van der Berg' 1, 'John Smith' 2."""
    return sum(1 for t in tokens if not (t.islower() and t in PARTICLES))


def _initial_flags(tokens: list[str], all_upper: bool) -> list[bool]:
    """Which tokens are initials. In capitals, a particle before the last word is not ("DE LA
    CRUZ M"), and a name of short tokens only keeps one as a word, the first with a vowel
    ("MA Y", "JC MA")."""
    flags = [_is_initials_token(t, all_upper) for t in tokens]
    if all_upper:
        for i in range(len(tokens) - 1):
            if _is_particle(tokens, i):
                flags[i] = False
        if all(flags):
            words = [i for i, t in enumerate(tokens) if "." not in t and len(t) > 1]
            voiced = [i for i in words if any(ch in _VOWELS for ch in tokens[i].lower())]
            if voiced or words:
                flags[(voiced or words)[0]] = False
    for i in range(1, len(tokens) - 1):
        if _is_conjunction(tokens, i):
            flags[i] = False
    # A particle between initials goes with them ("López-García M. del C."): `_build` drops it.
    particles_at = _given_name_particles(tokens, _mixed_case(tokens))
    others = [j for j in range(len(tokens)) if j not in particles_at]
    for i in sorted(particles_at):
        k = bisect.bisect_left(others, i)  # the nearest words on either side, in log time
        if 0 < k < len(others):
            flags[i] = flags[others[k - 1]] and flags[others[k]]
    return flags


def _in_capitals(text: str) -> bool:
    """Whether a name is written all in capitals; a suffix or title does not count: "JOHN SMITH Jr."
    is."""
    words = [t for t in _WORD_BREAKS.split(text) if t.isupper() or not (_is_suffix(t) or _is_title(t, False))]
    return "".join(ch for t in words for ch in t if ch.isalpha()).isupper()


@lru_cache(maxsize=200_000)
def parse_name(raw: str) -> ParsedName:
    """Parse one author name string; never raises, an unparseable name gives an empty surname."""
    raw = _normalise(raw)
    native = _parse_chinese_or_korean(raw)
    if native is not None:
        return native
    # Titles stand before the given names: at the start, or after the surname's comma.
    raw = _drop_titles(raw, surname_follows=True)
    surname_part, comma, given_part = raw.partition(",")
    if comma:
        raw = f"{surname_part},{_drop_titles(given_part, surname_follows=False)}"
    all_upper = _in_capitals(raw)
    if "," in raw:
        pieces = [p for p in (s.strip() for s in raw.split(",")) if p]
        if len(pieces) >= 2:
            # "Smith, John, Jr.", "John Smith, Jr.", "Müller, Hans, Prof. Dr.": a piece of suffixes
            # or titles is dropped, but not one that gives a lone surname its initials
            # ("Srinivasan, V", "Kender, JR").
            kept = pieces[:1]
            lone_surname = _surname_words(_clean_tokens(pieces[0])) <= 1
            # In capitals ("EL ALLALI, SOUFYANE") initials and words look alike: no such reading.
            given_first = not all_upper and _written_given_names_first(_clean_tokens(pieces[0]), all_upper)
            for i, piece in enumerate(pieces[1:], start=1):
                if _is_affiliation(piece):
                    break  # "John A. Smith, University of Oxford, UK"
                given_follows = not (i == 1 and lone_surname)
                # "Smith, John, 1950-2010", "J. A. Smith, ed."; but "smith, ed." may be Ed Smith.
                if _is_role_or_dates(piece) and (given_follows or any(ch.isdigit() for ch in piece)):
                    continue
                tokens = _clean_tokens(piece)
                if given_first and tokens and all(_is_initials_token(t, False) or _is_suffix(t) for t in tokens):
                    continue  # "John A. Smith, MS": the given names are before the comma, these are degrees
                if tokens and (
                    all(_is_suffix(t) or _is_title(t, all_upper) for t in tokens)
                    or _is_title_piece(piece, all_upper, given_follows=given_follows)
                ):
                    initials = all(_is_initials_token(t, all_upper) for t in tokens)
                    if given_follows or not initials:
                        continue
                kept.append(piece)
            if len(kept) < len(pieces):  # "JOHN SMITH, Dr. med." is in capitals
                all_upper = _in_capitals(", ".join(kept))
            pieces = kept
        if len(pieces) >= 2:
            surname_tokens = _strip_suffixes(_clean_tokens(pieces[0]), 1, all_upper, surname_piece=True)
            given_words = _muhammad_as_initial(_clean_tokens(" ".join(pieces[1:])), words_after=1)
            given_tokens = _strip_suffixes(given_words, 1, all_upper, after_comma=True)
            # "Berg, Anna van der": trailing particles belong to the surname; a capitalised one
            # in a mixed-case given name does not ("Yang, Yu Bin").
            caseless = all(t.isupper() or t.islower() for t in given_tokens)
            while (
                len(given_tokens) > 1
                and _is_particle(given_tokens, len(given_tokens) - 1)
                and (caseless or given_tokens[-1].islower())
            ):
                surname_tokens.insert(0, given_tokens.pop())
            if all_upper and len(given_tokens) == 1 and _initials_in_capitals(given_tokens[0]):
                given_tokens = [".".join(given_tokens[0]) + "."]  # Web of Science's "SMITH, JA"
            return _build(given_tokens, surname_tokens, ambiguous=False)
        raw = pieces[0] if pieces else ""
    tokens = _strip_suffixes(_muhammad_as_initial(_clean_tokens(raw), words_after=2), 2, all_upper)
    if not tokens:
        return ParsedName("", ())
    if len(tokens) > 2 and _PARTICLE_INITIAL.fullmatch(tokens[-2]) and _LAST_INITIALS.fullmatch(tokens[-1]):
        tokens = [*tokens[:-2], tokens[-2] + tokens[-1]]  # "López-García Mdel C" as "López-García MdelC"
    if len(tokens) > 2 and _is_irish_o(*tokens[:2]) and all(_is_initials_token(t, all_upper) for t in tokens[2:]):
        tokens = [f"{tokens[0]}'{tokens[1]}", *tokens[2:]]  # MEDLINE's "O Brien P" as "O'Brien P"
    if len(tokens) == 1:
        return _build([], tokens, ambiguous=False)
    initial_flags = _initial_flags(tokens, all_upper)
    # "HAZIZA Daniel" / "Daniel HAZIZA" / "GUPTA Ajay K.": the capitals of a mixed-case name are the surname.
    if not all_upper:
        upper = _upper_surname(tokens, initial_flags)
        if upper is not None:
            return _open_to_initials_first(_build(*upper, ambiguous=False), tokens, initial_flags)
    vietnamese = _vietnamese_family_name_first(tokens, initial_flags)
    if vietnamese is not None:
        return vietnamese
    if _east_slavic_family_name_first(tokens, initial_flags):
        # The Western reading, surname Ivanovich, is for the corpus to choose (`reads_second_reading`).
        parsed = _build(tokens[1:], tokens[:1], ambiguous=False)
        western = _build(tokens[:2], tokens[2:], ambiguous=False)
        return replace(parsed, second_reading=GIVEN_NAMES_FIRST, alternative=western)
    # "HAZIZA D", "Haziza D.", "Stenkamp DL", "Garcia Marquez J": full words, then only initials.
    if not initial_flags[0] and initial_flags[-1]:
        split = len(tokens)
        while split > 0 and initial_flags[split - 1]:
            split -= 1
        if not any(initial_flags[:split]):
            parsed = _build(tokens[split:], tokens[:split], ambiguous=False)
            return _open_to_vote(parsed, tokens, split) if all_upper else _open_to_capitals_last(parsed, tokens, split)
    # Western order; particles before the last word join the surname, and so does the word before
    # a Spanish "y", if a given name is left ("José Ortega y Gasset").
    start = len(tokens) - 1
    if start >= 2 and fold(tokens[start]) in GENERATION_SURNAME_WORDS and _is_surname_word(tokens[start - 1]):
        start -= 1  # "João Carlos Oliveira Filho": Filho goes with the surname before it
    while start > 1 and _is_particle(tokens, start - 1) and not _vietnamese_middle_name(tokens, start - 1):
        start -= 1
        if tokens[start].lower() == "y" and start > 1:
            start -= 1
    if start > 1 and tokens[start - 1].lower() == "abd":
        start -= 1  # "Ahmed Abd El Aziz": Abd ("servant of") is never a name alone; Abdelaziz A
    given_tokens, surname_tokens = tokens[:start], tokens[start:]
    # "Wang Wei" may be read either way (the corpus votes); "Wang-Chang Su" may not: a hyphenated
    # first word is a given name, and the other reading would keep only its first part.
    ambiguous = len(tokens) == 2 and not any(initial_flags) and "-" not in tokens[0]
    if ambiguous and _romanised_family_name_first(tokens):
        return _build(tokens[1:], tokens[:1], ambiguous=True)  # "Kim Min-su": Kim, Min-su
    parsed = _build(given_tokens, surname_tokens, ambiguous=ambiguous)
    if _ends_in_devotional_given_name(tokens, start, initial_flags):
        # "LOPEZ GARCIA MARIA DEL CARMEN" may be written surname first: the corpus votes.
        surname_first = _build(tokens[start - 1 :], tokens[: start - 1], ambiguous=True)
        return replace(parsed, order_ambiguous=True, alternative=surname_first)
    return _open_to_two_word_surname(parsed, given_tokens, surname_tokens, initial_flags)


# Two-character Chinese family names (simplified and traditional forms), in pinyin. A name that
# starts with one is read with it only if a given name is left ("东方" is Dong Fang).
_CHINESE_COMPOUND_SURNAMES = {
    "欧阳": "ouyang",
    "歐陽": "ouyang",
    "司马": "sima",
    "司馬": "sima",
    "诸葛": "zhuge",
    "諸葛": "zhuge",
    "上官": "shangguan",
    "司徒": "situ",
    "东方": "dongfang",
    "東方": "dongfang",
    "皇甫": "huangfu",
    "令狐": "linghu",
    "慕容": "murong",
    "夏侯": "xiahou",
    "尉迟": "yuchi",
    "尉遲": "yuchi",
    "长孙": "zhangsun",
    "長孫": "zhangsun",
    "宇文": "yuwen",
    "公孙": "gongsun",
    "公孫": "gongsun",
    "端木": "duanmu",
    "南宫": "nangong",
    "南宮": "nangong",
    "轩辕": "xuanyuan",
    "軒轅": "xuanyuan",
    "呼延": "huyan",
}
# Characters read differently as a family name than anyascii reads them (曾 is Zeng, not Ceng).
_CHINESE_SURNAME_READINGS = {
    "曾": "zeng",
    "翟": "zhai",
    "单": "shan",
    "單": "shan",
    "解": "xie",
    "区": "ou",
    "區": "ou",
    "仇": "qiu",
    "查": "zha",
    "朴": "piao",
    "覃": "qin",
    "缪": "miao",
    "繆": "miao",
    "召": "shao",
}
# Korean family names as their bearers write them in Latin script, which is seldom the Revised
# Romanisation anyascii gives (김 Gim, 이 I, 박 Bak); the others are left to anyascii.
_KOREAN_SURNAMES = {
    "김": "kim",
    "이": "lee",
    "박": "park",
    "최": "choi",
    "정": "jung",
    "강": "kang",
    "조": "cho",
    "윤": "yoon",
    "장": "jang",
    "임": "lim",
    "한": "han",
    "오": "oh",
    "서": "seo",
    "신": "shin",
    "권": "kwon",
    "황": "hwang",
    "안": "ahn",
    "송": "song",
    "류": "ryu",
    "홍": "hong",
    "전": "jeon",
    "고": "ko",
    "문": "moon",
    "양": "yang",
    "손": "son",
    "배": "bae",
    "백": "baek",
    "허": "heo",
    "유": "yoo",
    "남": "nam",
}
# Two-syllable Korean family names; not 황보 (Hwangbo), which cannot be told from 황 (Hwang) and
# a given name starting with 보.
_KOREAN_COMPOUND_SURNAMES = {"남궁": "namgung", "제갈": "jegal", "선우": "sunwoo", "독고": "dokgo"}


def _native_script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith("CJK UNIFIED IDEOGRAPH"):
        return "han"
    if name.startswith("HANGUL SYLLABLE"):
        return "hangul"
    return ""


def _parse_chinese_or_korean(text: str) -> ParsedName | None:
    """A name written only in Chinese characters or only in Hangul, family name first: "王小明"
    parses as "Xiaoming Wang" does, "김민준" as "Minjun Kim". The family name is the first word
    when a space marks it ("欧阳 娜娜"), else a known two-character family name or the first
    character; the given name is one word, as pinyin writes it.

    Anything else is left to the general parser. Kana, alone or with kanji, is Japanese, whose
    kanji readings and so whose romanised name cannot be known from the characters. (A Japanese
    name in kanji only cannot be told from a Chinese one: it gets Chinese readings, which at least
    agree across its mentions.) A middle dot ("迈克尔·乔丹", Michael Jordan) separates the parts
    of a transliterated foreign or minority name, which keeps its own, mostly given-first, order.
    """
    if text.isascii():
        return None
    words = text.split()
    scripts = {_native_script(ch) for word in words for ch in word}
    if scripts == {"han"}:
        compounds, readings = _CHINESE_COMPOUND_SURNAMES, _CHINESE_SURNAME_READINGS
    elif scripts == {"hangul"}:
        compounds, readings = _KOREAN_COMPOUND_SURNAMES, _KOREAN_SURNAMES
    else:
        return None
    if len(words) > 1:
        family, given_text = words[0], "".join(words[1:])
    else:
        size = 2 if len(words[0]) > 2 and words[0][:2] in compounds else 1
        family, given_text = words[0][:size], words[0][size:]
    surname = compounds.get(family) or readings.get(family) or _folded_letters(family)
    given = _folded_letters(given_text)
    if not surname:
        return None
    return ParsedName(surname, (given,) if given else (), given.capitalize(), surname.capitalize())


def _mixed_case(tokens: list[str]) -> bool:
    letters = "".join(tokens).replace(".", "")
    return not (letters.isupper() or letters.islower())


def _build(given_tokens: list[str], surname_tokens: list[str], *, ambiguous: bool) -> ParsedName:
    all_upper = "".join(given_tokens + surname_tokens).replace(".", "").isupper()
    surname = " ".join(fold(t) for t in surname_tokens)
    surname = re.sub(r"[^a-z\- ']", "", surname).strip()
    particles_at = _given_name_particles(given_tokens, _mixed_case(given_tokens + surname_tokens))
    if given_tokens and _is_conjunction(given_tokens + surname_tokens[:1], len(given_tokens) - 1):
        # "Ana de Souza e Silva" read with the surname Silva: the "e" is no given name.
        particles_at.add(len(given_tokens) - 1)
    given = _split_given([t for i, t in enumerate(given_tokens) if i not in particles_at], all_upper)
    particles = len(surname_tokens) > 1
    lower_case = PARTICLES | SURNAME_CONJUNCTIONS
    # A surname is a word even when short and in capitals ("LI", "MA"): never shown as initials.
    surname_display = " ".join(
        t.lower() if particles and t.lower() in lower_case and i < len(surname_tokens) - 1 else _pretty_word(t)
        for i, t in enumerate(surname_tokens)
    )
    given_display = " ".join(
        t.lower() if i in particles_at else _pretty(t, all_upper) for i, t in enumerate(given_tokens)
    )
    return ParsedName(surname, given, given_display, surname_display, ambiguous)


def _open_to_vote(name: ParsedName, tokens: list[str], words: int) -> ParsedName:
    """`name`, read from a name in capitals of `words` words and then initials, with its other
    reading if the name cannot tell it apart: "GUPTA AJAY K." is surname Gupta Ajay by default (as
    "Garcia Marquez J." is surname Garcia Marquez) or surname Gupta with given names Ajay K.

    Left as it is: one word before the initials ("GUPTA A. K."), which can only be the surname;
    initials without dots ("GARCIA MARQUEZ J"), the compound surname of MEDLINE, which never
    spells a given name out and never writes a dot; and a particle ("VAN DER BERG ANNA M."),
    which the other reading would split from its surname. Names without trailing initials are
    not opened either: "AJAY K. GUPTA" and "AJAY KUMAR GUPTA" are read given names first, and so
    vote for their last word as the surname. In a corpus writing some names surname first and
    some given names first, those votes decide more names than opening these would
    (benchmarks/README.md, name_styles).
    """
    if words < 2 or not all("." in token for token in tokens[words:]):
        return name
    if any(token.lower() in PARTICLES for token in tokens):
        return name
    # The vote compares surname keys: "guptaajay" is almost never voted for, so a corpus that
    # writes Gupta as a surname elsewhere reads the name as Gupta, Ajay K.
    return replace(name, order_ambiguous=True, alternative=_build(tokens[1:], tokens[:1], ambiguous=True))


def _vietnamese_family_name_first(tokens: list[str], initial_flags: list[bool]) -> ParsedName | None:
    """A Vietnamese name written family name first, "Nguyen Van Anh" or "DO THI HOA": three or more
    words, none an initial, a family name of VIETNAMESE_SURNAMES and then Van or Thi, capitalised
    (a lower-case "van" is Dutch) or in a name in one case. The given names first ("Van Anh Nguyen",
    "Thi Van Anh Nguyen") are read as any name is. Where the last word is such a family name too
    ("Le Thi Tran"), the name may be given names first: the corpus votes, as on "Wang Wei"."""
    if len(tokens) < 3 or any(initial_flags):
        return None
    if fold(tokens[0]) not in VIETNAMESE_SURNAMES or fold(tokens[1]) not in _VIETNAMESE_MIDDLE_NAMES:
        return None
    words = [token.rstrip(".") for token in tokens]
    if not all(len(word) > 1 and word.replace("-", "").isalpha() for word in words):
        return None
    if _mixed_case(tokens) and not all(word.istitle() for word in words[1:]):
        return None  # "Ho van Dijk", "Nguyen Van de Anh": a particle in lower case
    parsed = _build(tokens[1:], tokens[:1], ambiguous=False)
    if fold(tokens[-1]) not in VIETNAMESE_SURNAMES:
        return parsed
    given_first = _build(tokens[:-1], tokens[-1:], ambiguous=True)
    return replace(parsed, order_ambiguous=True, alternative=given_first)


def _is_patronymic(token: str) -> bool:
    """'Ivanovich', 'Sergeevna', 'Hryhorovych', 'Vasil'evich' (see _PATRONYMIC)."""
    return _PATRONYMIC.fullmatch(_folded_letters(token)) is not None


def _east_slavic_family_name_first(tokens: list[str], initial_flags: list[bool]) -> bool:
    """Whether a name is written as Russian, Ukrainian and Belarusian catalogues (eLibrary) write
    one, family name, given name, patronymic: "Ivanov Ivan Ivanovich", "IVANOVA ANNA SERGEEVNA",
    "Shevchenko Taras Hryhorovych". Three words, none an initial or particle, the last a patronymic
    and the middle none: "Dmitri Dmitriyevich Shostakovich" is given names first. The first word
    must end as East Slavic family names do (_EAST_SLAVIC_FAMILY_NAME) and be no given name of the
    nickname table ("Jodi Heintz Obradovich", "John Paul Rabinovich", "Juan Carlos Petrovich"):
    there the last word is a surname of Slavic origin, and the name is Western. The
    corpus vote on the Western reading cannot decide those alone: a registry resolves one mention
    with no corpus, and aminer110 writes Jodi Heintz Obradovich only so. A patronymic written as an
    initial ("Ivanov Ivan I.") cannot be told from "Garcia Marquez J."."""
    if len(tokens) != 3 or any(initial_flags) or not all(_is_surname_word(token) for token in tokens):
        return False
    if not _is_patronymic(tokens[2]) or _is_patronymic(tokens[1]):
        return False
    first = _folded_letters(tokens[0])
    return _EAST_SLAVIC_FAMILY_NAME.fullmatch(first) is not None and not _nicknames_of(first)


def _ends_in_devotional_given_name(tokens: list[str], start: int, initial_flags: list[bool]) -> bool:
    """Whether a name read given names first with the surname `tokens[start:]` ends in a given name
    and a devotional one after a particle ("... MARIA DEL CARMEN", "... Maria de Fátima"), with a
    word before them that may be the surname: "LOPEZ GARCIA MARIA DEL CARMEN"."""
    if start < 2 or any(initial_flags[:start]) or len(tokens) - start < 2:
        return False
    run = tuple(token.lower() for token in tokens[start:-1])
    return run in GIVEN_NAME_PARTICLES and run != ("y",) and fold(tokens[-1]) in DEVOTIONAL_GIVEN_NAMES


def _open_to_initials_first(name: ParsedName, tokens: list[str], initial_flags: list[bool]) -> ParsedName:
    """`name`, read with a capitals surname: marked `capitals_surname` if that surname cannot be
    initials; else, for two words whose first is two or three capitals ("LI Wei", "JA Smith"),
    with Google Scholar's reading J. A. Smith as its second reading."""
    if not any(initial_flags[i] and _is_upper_word(t) and "." not in t for i, t in enumerate(tokens)):
        return replace(name, capitals_surname=True)
    if _given_words(tokens[:-1]) and len(tokens[-1]) == 3 and name.surname == tokens[-1].lower():
        # "Silva MAS" may be MEDLINE's M. A. S. Silva, as "Minsoo KIM" may not.
        medline = _build(tokens[-1:], tokens[:-1], ambiguous=False)
        return replace(name, second_reading=INITIALS_LAST, alternative=medline)
    if len(tokens) != 2 or not initial_flags[0] or initial_flags[1] or "." in tokens[0]:
        return name
    return replace(name, second_reading=INITIALS_FIRST, alternative=_build(tokens[:1], tokens[1:], ambiguous=False))


def _given_words(tokens: list[str]) -> bool:
    """Words in mixed case ("Wei", "Xiao-ming", "Wei-Ying"), no capitals or initials."""
    return bool(tokens) and all(t.replace("-", "").isalpha() and t[:1].isupper() and not t.isupper() for t in tokens)


def _open_to_capitals_last(name: ParsedName, tokens: list[str], split: int) -> ParsedName:
    """`name`, read MEDLINE's way from words and then initials in a name in mixed case: with the
    second reading of a last token that may be a short surname in capitals as the surname, as
    "Ajay K. GUPTA" is written: a short East Asian surname ("Wei LI", "Van Thanh DO"), or three
    letters that start with a consonant and hold a vowel ("Santos MFO" as Mfo, Santos); else
    marked `initials_last`."""
    last = tokens[-1]
    short = last.lower() in SHORT_EAST_ASIAN_SURNAMES or (
        len(last) == 3 and last[0] not in "AEIOU" and any(ch in "AEIOUY" for ch in last)
    )
    if split == len(tokens) - 1 and last.isupper() and short and _given_words(tokens[:split]):
        return replace(
            name, second_reading=CAPITALS_LAST, alternative=_build(tokens[:split], tokens[split:], ambiguous=False)
        )
    return replace(name, initials_last=True)


def _open_to_two_word_surname(
    name: ParsedName, given_tokens: list[str], surname_tokens: list[str], initial_flags: list[bool]
) -> ParsedName:
    """`name`, read given names first from a name without a comma, with the reading of its last two
    words as the surname ("José García Márquez" as García Márquez, José) when it has one: a single
    surname word after two or more given words or initials, of which the last is a word, neither a
    particle nor after one ("Maria del Carmen López", "Maria de Fátima Silva" keep theirs). After
    the conjunction of a compound surname ("Ana de Souza e Silva") that reading is the compound,
    with the particles before it: de Souza e Silva, Ana."""
    if len(surname_tokens) != 1 or len(given_tokens) < 2:
        return name
    if _is_conjunction(given_tokens + surname_tokens, len(given_tokens) - 1):
        return _open_to_compound_surname(name, given_tokens, surname_tokens)
    if _is_irish_o(given_tokens[-1], surname_tokens[0]) and not any(initial_flags[: len(given_tokens) - 1]):
        # "Patrick O Brien" as Patrick O'Brien: only after given names written out ("P O Brien" is
        # MEDLINE's P. O. Brien).
        irish = _build(given_tokens[:-1], [f"{given_tokens[-1]}'{surname_tokens[0]}"], ambiguous=False)
        return replace(name, second_reading=TWO_WORD_SURNAME, alternative=irish)
    last = given_tokens[-1]
    if initial_flags[len(given_tokens) - 1] or not last.isalpha() or len(last) < 2:
        return name
    if last.lower() in _PARTICLE_WORDS or given_tokens[-2].lower() in _PARTICLE_WORDS:
        return name
    return replace(
        name,
        second_reading=TWO_WORD_SURNAME,
        alternative=_build(given_tokens[:-1], [last, *surname_tokens], ambiguous=False),
    )


def _is_irish_o(token: str, word: str) -> bool:
    """Whether `token` may be the O' of an Irish surname written without its apostrophe before
    `word`: a capital O without a dot before one of IRISH_O_SURNAMES ("O Brien", "O BRIEN")."""
    return token == "O" and fold(word) in IRISH_O_SURNAMES and (word.istitle() or word.isupper())


def _open_to_compound_surname(name: ParsedName, given_tokens: list[str], surname_tokens: list[str]) -> ParsedName:
    """`name` with the second reading of its compound surname: the word before the conjunction and
    the particles before that word join the surname, if a given name is left."""
    start = len(given_tokens) - 2
    while start > 1 and given_tokens[start - 1].lower() in PARTICLES:
        start -= 1
    if start < 1:
        return name  # "Souza e Silva": no given name would be left
    return replace(
        name,
        second_reading=TWO_WORD_SURNAME,
        alternative=_build(given_tokens[:start], [*given_tokens[start:], *surname_tokens], ambiguous=False),
    )


def swapped(name: ParsedName) -> ParsedName:
    """The other reading of a two-word name with no comma ('Wang Wei' as surname Wang; 'Wang
    Shu-Hong' as surname Wang and given names Shu Hong, as 'Wang, Shu-Hong' is parsed), or of a
    longer one in capitals ('GUPTA AJAY K.' as surname Gupta and given names Ajay K.)."""
    if name.alternative is not None:
        return name.alternative
    parts = (re.sub(r"[^a-z]", "", part) for part in re.split(r"[\s\-]", name.surname))
    return ParsedName(
        surname=name.first,
        given=tuple(part for part in parts if part),
        given_display=name.surname_display,
        surname_display=name.given_display,
        order_ambiguous=True,
    )


def to_initials(raw: str) -> str:
    """Rewrite a name to initials plus surname: 'Ajay K. Gupta' -> 'A. K. Gupta'."""
    return parse_name(raw).as_initials()


class GivenMatch(IntEnum):
    """How two given names relate; 0 means they cannot belong to one person."""

    INCOMPATIBLE = 0
    INITIALS_ONLY = 1  # at least one side is an initial; the initials agree
    VARIANT = 2  # nickname, prefix, spelling variant or hyphen joining
    EXACT = 3


@lru_cache(maxsize=100_000)
def _nicknames_of(name: str) -> frozenset[str]:
    namer = _namer()
    related = set(namer.nicknames_of(name)) | set(namer.canonicals_of(name))
    for canonical in namer.canonicals_of(name):
        related |= namer.nicknames_of(canonical)
    return frozenset(related)


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    # The nickname table is loaded on first use, not at import.
    return NickNamer()


@lru_cache(maxsize=500_000)
def part_match(a: str, b: str) -> GivenMatch:
    """Relation between two single given-name parts (each a word or a one-letter initial)."""
    if not a or not b:
        return GivenMatch.INITIALS_ONLY
    if len(a) == 1 or len(b) == 1:
        return GivenMatch.INITIALS_ONLY if a[0] == b[0] else GivenMatch.INCOMPATIBLE
    if a == b:
        return GivenMatch.EXACT
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= _MIN_PREFIX_MATCH and long_.startswith(short):
        return GivenMatch.VARIANT
    if len(short) >= _MIN_TYPO_LENGTH and a[0] == b[0] and Levenshtein.distance(a, b) <= 1:
        return GivenMatch.VARIANT
    if b in _nicknames_of(a) or spelled_alike(a, b):
        return GivenMatch.VARIANT
    return GivenMatch.INCOMPATIBLE


def given_match(a: tuple[str, ...], b: tuple[str, ...]) -> GivenMatch:
    """Compare whole given names: first names must agree and aligned middle names must too.

    "Jean-Pierre" ~ "J.-P." ~ "Jeanpierre" ~ "Jean"; "J.C." and "J.H." conflict; a missing middle
    name never conflicts.
    """
    if not a or not b:
        return GivenMatch.INITIALS_ONLY
    joined_a, joined_b = "".join(a), "".join(b)
    if joined_a == joined_b and len(joined_a) > len(a):
        return GivenMatch.EXACT
    first = part_match(a[0], b[0])
    if first == GivenMatch.INCOMPATIBLE:
        # "Jeanpierre" vs "Jean-Pierre" and "Jianchun" vs "Jian-Chun".
        if len(a[0]) > 1 and len(b[0]) > 1 and (joined_a == joined_b):
            return GivenMatch.VARIANT
        return GivenMatch.INCOMPATIBLE
    worst = first
    for x, y in zip(a[1:], b[1:]):
        middle = part_match(x, y)
        if middle == GivenMatch.INCOMPATIBLE:
            return GivenMatch.INCOMPATIBLE
        worst = min(worst, middle)
    if len(a) != len(b) and worst == GivenMatch.EXACT:
        worst = GivenMatch.VARIANT
    return worst
