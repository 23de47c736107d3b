"""parse_name, to_initials, given_match and the corpus vote of resolve_name_order."""

from __future__ import annotations

import pytest

from disambig.blocking import registry_block_key, resolve_name_order
from disambig.names import (
    CAPITALS_LAST,
    GIVEN_NAMES_FIRST,
    INITIALS_FIRST,
    INITIALS_LAST,
    GivenMatch,
    given_match,
    parse_name,
    swapped,
    to_initials,
)

# raw, surname, given, block_key, as_initials(), order_ambiguous
PARSE_TABLE = [
    ("Daniel Haziza", "haziza", ("daniel",), "haziza_d", "D. Haziza", True),
    ("Haziza, Daniel", "haziza", ("daniel",), "haziza_d", "D. Haziza", False),
    ("D. Haziza", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("HAZIZA D", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("Haziza D.", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    # A hyphenated first word is a given name: not open to the word-order vote.
    ("Jean-Pierre Dupont", "dupont", ("jean", "pierre"), "dupont_j", "J. P. Dupont", False),
    ("J.-P. Dupont", "dupont", ("j", "p"), "dupont_j", "J. P. Dupont", False),
    ("van der Berg, Anna", "van der berg", ("anna",), "vanderberg_a", "A. van der Berg", False),
    ("Anna van der Berg", "van der berg", ("anna",), "vanderberg_a", "A. van der Berg", False),
    ("José García-Márquez", "garcia-marquez", ("jose",), "garciamarquez_j", "J. Garcia-Marquez", True),
    # Raw parse of a two-word name is Western order; resolve_name_order may swap it later.
    ("Wang Wei", "wei", ("wang",), "wei_w", "W. Wei", True),
    ("Wei Wang", "wang", ("wei",), "wang_w", "W. Wang", True),
    ("John Smith Jr.", "smith", ("john",), "smith_j", "J. Smith", True),
    ("Smith, John, Jr.", "smith", ("john",), "smith_j", "J. Smith", False),
    ("Robert King III", "king", ("robert",), "king_r", "R. King", True),
    ("  d. HAZIZA ", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("Wang, J.C.", "wang", ("j", "c"), "wang_j", "J. C. Wang", False),
    ("Deborah L Stenkamp", "stenkamp", ("deborah", "l"), "stenkamp_d", "D. L. Stenkamp", False),
    ("Stenkamp DL", "stenkamp", ("d", "l"), "stenkamp_d", "D. L. Stenkamp", False),
    ("J Subjak", "subjak", ("j",), "subjak_j", "J. Subjak", False),
    # German, Austrian and Czech academic titles are no given names (they would change the block).
    ("Dr. med. Hans Müller", "muller", ("hans",), "muller_h", "H. Muller", True),
    ("Dr. rer. nat. Anna Schmidt", "schmidt", ("anna",), "schmidt_a", "A. Schmidt", True),
    ("PD Dr. med. Eva Braun", "braun", ("eva",), "braun_e", "E. Braun", True),
    ("Priv.-Doz. Dr. Eva Braun", "braun", ("eva",), "braun_e", "E. Braun", True),
    ("Univ.-Prof. Dr. Eva Braun", "braun", ("eva",), "braun_e", "E. Braun", True),
    ("Dr. phil. Jan Novak", "novak", ("jan",), "novak_j", "J. Novak", True),
    ("Ing. Jan Novák", "novak", ("jan",), "novak_j", "J. Novak", True),
    ("Mag. Jan Novák", "novak", ("jan",), "novak_j", "J. Novak", True),
    ("Dipl.-Ing. Jan Novák", "novak", ("jan",), "novak_j", "J. Novak", True),
    ("Müller, Hans, Dr. med.", "muller", ("hans",), "muller_h", "H. Muller", False),
    ("Hans Müller, Dr. med.", "muller", ("hans",), "muller_h", "H. Muller", True),
    ("Prof. Dr.-Ing. Klaus Weber", "weber", ("klaus",), "weber_k", "K. Weber", True),
    # MEDLINE initials that look like such a title stay initials.
    ("Smith PD", "smith", ("p", "d"), "smith_p", "P. D. Smith", False),
    ("PD Smith", "smith", ("p", "d"), "smith_p", "P. D. Smith", False),
    # Dutch "'t" and "St." are particles of the surname in every form, not initials or given names.
    ("Gerard 't Hooft", "'t hooft", ("gerard",), "thooft_g", "G. 't Hooft", False),
    ("G. 't Hooft", "'t hooft", ("g",), "thooft_g", "G. 't Hooft", False),
    ("'t Hooft G", "'t hooft", ("g",), "thooft_g", "G. 't Hooft", False),
    ("'t Hooft, Gerard", "'t hooft", ("gerard",), "thooft_g", "G. 't Hooft", False),
    ("Mary St. John", "st john", ("mary",), "stjohn_m", "M. st. John", False),
    ("St John M", "st john", ("m",), "stjohn_m", "M. st John", False),
    ("Mary St John", "st john", ("mary",), "stjohn_m", "M. st John", False),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "block_key", "initials", "ambiguous"),
    PARSE_TABLE,
    ids=[row[0].strip() for row in PARSE_TABLE],
)
def test_parse_name_forms(
    raw: str, surname: str, given: tuple[str, ...], block_key: str, initials: str, ambiguous: bool
) -> None:
    parsed = parse_name(raw)
    assert parsed.surname == surname
    assert parsed.given == given
    assert parsed.block_key == block_key
    assert parsed.as_initials() == initials
    assert parsed.order_ambiguous is ambiguous


def test_diacritics_are_folded_into_the_surname_key() -> None:
    accented = parse_name("José García-Márquez")
    plain = parse_name("Jose Garcia-Marquez")
    assert accented.surname_key == "garciamarquez"
    assert accented == plain


@pytest.mark.parametrize("raw", ["Daniel Haziza", "Haziza, Daniel", "HAZIZA Daniel", "haziza, daniel"])
def test_full_name_forms_agree(raw: str) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.surname_display) == ("haziza", ("daniel",), "Haziza")


@pytest.mark.parametrize("raw", ["", "   ", "...", "123", ",,,"])
def test_unparseable_name_gives_empty_surname(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.surname == ""
    assert parsed.given == ()


@pytest.mark.parametrize("raw", ["GARCIA MARQUEZ J", "Garcia Marquez J"])
def test_multi_word_surname_followed_by_initials(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.given == ("j",)
    assert parsed.surname_key == "garciamarquez"
    assert parsed.block_key == "garciamarquez_j"


# Catalogue styles of one person (benchmarks/name_styles.py writes whole files this way).
@pytest.mark.parametrize(
    "raw",
    [
        "Ajay K. Gupta",
        "Gupta, Ajay K.",
        "GUPTA, Ajay K.",
        "GUPTA, AJAY K.",
        "Ajay K. GUPTA",
        "GUPTA Ajay K.",  # capitals first, then a middle initial: not the surname "Gupta Ajay"
        "AJAY K. GUPTA",
        "ajay k. gupta",
        "Ajay K. Gupta1,2",  # byline markers: not "Gupta1" before a comma and a given name "2"
        "Ajay K. Gupta*",
        "Ajay K. Gupta\u2709",  # anyascii would spell the envelope ':envelope:'
        "Ajay K. Gupta\u00a7",  # ... and the section sign 'S'
        "Ajay K. Gupta\u00b9,\u00b2",
        "Gupta, Ajay K.,",
        "Ajay K. (AK) Gupta",  # a parenthesised aside is not a middle name
    ],
)
def test_full_name_styles_agree(raw: str) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == ("gupta", ("ajay", "k"))


@pytest.mark.parametrize(
    "raw",
    [
        "Gupta AK",
        "GUPTA AK",  # all capitals: 'AK' cannot be read as a word, so it is initials
        "Gupta, AK",
        "GUPTA, AK",
        "Gupta, A. K.",
        "A. K. Gupta",
        "A.K. Gupta",
        "A.K.Gupta",
        "AK Gupta",
    ],
)
def test_initials_styles_agree(raw: str) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == ("gupta", ("a", "k"))


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("Srinivasan V", "srinivasan", ("v",)),  # 'V' is a roman-numeral suffix only after a full name
        ("Srinivasan, V", "srinivasan", ("v",)),
        ("V. Srinivasan", "srinivasan", ("v",)),
        ("Gillet, V. J.", "gillet", ("v", "j")),
        ("Kender JR", "kender", ("j", "r")),  # 'JR' and 'MD' are initials after a lone surname
        ("Kender, JR", "kender", ("j", "r")),
        ("Theys MD", "theys", ("m", "d")),
        ("Smith, J.R.", "smith", ("j", "r")),
        ("Smith J V", "smith", ("j", "v")),
        ("Smith, John V", "smith", ("john", "v")),
        ("MARATHE Madhav V.", "marathe", ("madhav", "v")),
        ("John Smith V", "smith", ("john",)),
        ("John Smith MD", "smith", ("john",)),
        ("John Smith, Jr.", "smith", ("john",)),
        ("Smith J, et al.", "smith", ("j",)),  # copied from a citation
        ("Smith J et al", "smith", ("j",)),
        ("John Smith et al.", "smith", ("john",)),
        ("SMITH J; ET AL", "smith", ("j",)),
        ("Al Smith", "smith", ("al",)),
        ("Al Et", "et", ("al",)),
        ("Smith, John III", "smith", ("john",)),
        # "Md." abbreviates Muhammad, as MEDLINE's "Islam MS" shows; "MD Smith" is M. D. Smith.
        ("Md. Saiful Islam", "islam", ("m", "saiful")),
        ("MD SAIFUL ISLAM", "islam", ("m", "saiful")),
        ("Islam, Md. Saiful", "islam", ("m", "saiful")),
        ("Mohd Razali Ahmad", "ahmad", ("m", "razali")),
        ("Md. Islam", "islam", ("m",)),
        ("MD Smith", "smith", ("m", "d")),
        ("John Smith Ph.D.", "smith", ("john",)),  # "Ph." abbreviates a given name, "Ph.D." does not
        ("John Smith, Th.D.", "smith", ("john",)),
        ("Smith JA MBChB", "smith", ("j", "a")),
        # A suffix word that is all the surname there is: a Nigerian Mba, a Japanese Ii.
        ("Mba, Chidi", "mba", ("chidi",)),
        ("Ii, Kenji", "ii", ("kenji",)),
        ("Smith Jr.", "smith", ()),
        # A generation written as an ordinal: its letters were read as the surname ("rd").
        ("John Smith 3rd", "smith", ("john",)),
        ("Smith JA 2nd", "smith", ("j", "a")),
        ("Smith J, 4th", "smith", ("j",)),
        ("John Smith 3rd*", "smith", ("john",)),  # behind a byline marker
        ("John Smith, 3rd, MD", "smith", ("john",)),
        # MEDLINE writes the initials in one word: a numeral after them is a generation, and
        # "Ivanov II" (a surname, then initials) is I. I. Ivanov.
        ("Smith JA III", "smith", ("j", "a")),
        ("Smith J IV", "smith", ("j",)),
        ("Ivanov II", "ivanov", ("i", "i")),
    ],
)
def test_suffixes_and_initials_that_look_like_them(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given", "block_key"),
    [
        # Filho, Neto, Sobrinho, Júnior go with the surname before them, as MEDLINE reads them;
        # the block leaves them out, since the next listing drops them ("Silva Jr.", "Oliveira J").
        ("João Carlos Oliveira Filho", "oliveira filho", ("joao", "carlos"), "oliveira_j"),
        ("Oliveira Filho JC", "oliveira filho", ("j", "c"), "oliveira_j"),
        ("Oliveira-Filho, J. C.", "oliveira-filho", ("j", "c"), "oliveira_j"),
        ("J. C. Oliveira", "oliveira", ("j", "c"), "oliveira_j"),
        ("Raul L. de Lacerda Neto", "de lacerda neto", ("raul", "l"), "delacerda_r"),
        ("Carlos Alberto Silva Júnior", "silva junior", ("carlos", "alberto"), "silva_c"),
        ("Silva Júnior CA", "silva junior", ("c", "a"), "silva_c"),
        ("Carlos A. Silva Jr.", "silva", ("carlos", "a"), "silva_c"),
        # Alone, such a word is the surname.
        ("Neto, João", "neto", ("joao",), "neto_j"),
    ],
)
def test_portuguese_generation_words_end_the_surname(
    raw: str, surname: str, given: tuple[str, ...], block_key: str
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.block_key) == (surname, given, block_key)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # Degrees of medical bylines after a comma; the name before it was read as a surname.
        ("Jane Doe, RN", "doe", ("jane",)),
        ("John Smith, DDS", "smith", ("john",)),
        # Given names before the comma, as the initials there show: what follows is degrees.
        ("John A. Smith, MS", "smith", ("john", "a")),
        ("J. A. Smith, MS, PhD", "smith", ("j", "a")),
        # Roles and life dates of catalogues and reference lists.
        ("Smith, John, d. 1890", "smith", ("john",)),
        ("Smith, John A., 1950- editor.", "smith", ("john", "a")),
        ("Smith, John, 1950-2010", "smith", ("john",)),
        ("J. A. Smith, ed.", "smith", ("j", "a")),
        ("Smith JA, editor.", "smith", ("j", "a")),
        # An affiliation after a comma, and everything after it.
        ("John A. Smith, University of Oxford, UK", "smith", ("john", "a")),
        ("Smith, J., Dept. of Physics", "smith", ("j",)),
        # What stays: initials after a lone or two-word surname, given names that are role words.
        ("Doe, RN", "doe", ("r", "n")),
        ("Garcia Marquez, MS", "garcia marquez", ("m", "s")),
        ("Smith, Ed", "smith", ("ed",)),
        ("smith, ed.", "smith", ("ed",)),
        ("smith, d.", "smith", ("d",)),
        ("EL ALLALI, SOUFYANE", "el allali", ("soufyane",)),  # in capitals, words and degrees look alike
    ],
)
def test_degrees_roles_dates_and_affiliations_after_a_comma_are_no_name(
    raw: str, surname: str, given: tuple[str, ...]
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # One Cyrillic letter transliterated in two (Yu. for Yuri, Zh. for Zhores): its initial.
        ("Yu. A. Ivanov", "ivanov", ("y", "a")),
        ("Ivanov, Yu.A.", "ivanov", ("y", "a")),
        ("Ivanov Yu.A.", "ivanov", ("y", "a")),  # was surname "yua"
        ("Ivanov Yu. A.", "ivanov", ("y", "a")),
        ("Alferov Zh.I.", "alferov", ("z", "i")),
        ("IVANOV YU.A.", "ivanov", ("y", "a")),
        ("Ivanov YuA", "ivanov", ("y", "a")),  # MEDLINE's glued initials
        ("Sergeev AYu", "sergeev", ("a", "y")),
        ("Ivanov IuA", "ivanov", ("i", "a")),  # PubMed's Iu for Yu
        ("Kh. Ismailov", "ismailov", ("k",)),
        ("Shch. Petrov", "petrov", ("s",)),
        ("Ya. B. Zeldovich", "zeldovich", ("y", "b")),
        # The older Western abbreviations.
        ("Th. Müller", "muller", ("t",)),
        ("H.-Chr. Schultz", "schultz", ("h", "c")),
        ("Ph. Dupont", "dupont", ("p",)),
        # Words, not abbreviations: no dot and nothing glued, or a word with more letters.
        ("Yu Wang", "wang", ("yu",)),
        ("Wang, Yu", "wang", ("yu",)),
        ("Chu Wang", "wang", ("chu",)),
        ("JoAnn Smith", "smith", ("joann",)),
        ("Tsai, Wen", "tsai", ("wen",)),
    ],
)
def test_given_names_abbreviated_to_two_letters(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


def test_an_abbreviated_given_name_is_compatible_with_the_name_written_out() -> None:
    yuri, yu = parse_name("Yuri A. Ivanov"), parse_name("Yu. A. Ivanov")
    assert yu.block_key == yuri.block_key
    assert given_match(yu.given, yuri.given) != GivenMatch.INCOMPATIBLE
    assert given_match(parse_name("Th. Müller").given, parse_name("Thomas Müller").given) != GivenMatch.INCOMPATIBLE


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("Yan LIU", "liu", ("yan",)),  # a short surname in capitals, last: three letters
        ("LIU Yan", "liu", ("yan",)),  # ... or first
        ("LI Wei", "li", ("wei",)),
        ("MA Qian", "ma", ("qian",)),
        ("Minsoo KIM", "kim", ("minsoo",)),
        ("OOI Beng Chin", "ooi", ("beng", "chin")),
        ("Philip S. YU", "yu", ("philip", "s")),  # dotted initials: an undotted 'YU' is a word
        ("NG Raymond T.", "ng", ("raymond", "t")),
        ("José GARCIA MARQUEZ", "garcia marquez", ("jose",)),
        ("Jean-Claude VAN DAMME", "van damme", ("jean", "claude")),
        ("VAN DE POL Jaco", "van de pol", ("jaco",)),
        ("Dipankar DAS", "das", ("dipankar",)),
        # MEDLINE initials stay initials: two capitals last, or three without a vowel.
        ("Wang SY", "wang", ("s", "y")),
        ("Wang ATM", "wang", ("a", "t", "m")),  # three letters last starting with a vowel
        ("Smith JRR", "smith", ("j", "r", "r")),
        ("Kumar, BVKV", "kumar", ("b", "v", "k", "v")),
    ],
)
def test_surname_in_capitals(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)
    assert not parsed.order_ambiguous


@pytest.mark.parametrize(
    ("raw", "surname", "given", "ambiguous"),
    [
        ("STENKAMP DL", "stenkamp", ("d", "l"), False),
        ("WANG XJ", "wang", ("x", "j"), False),
        ("NGUYEN QH", "nguyen", ("q", "h"), False),
        ("WANG MHLS", "wang", ("m", "h", "l", "s"), False),  # no vowel: initials, however long
        ("MA Y", "ma", ("y",), False),
        ("DE LA CRUZ M", "de la cruz", ("m",), False),
        ("WANG, LI", "wang", ("li",), False),  # 'LI', 'IAN', 'UWE', 'KE' read as words
        ("FOSTER, IAN T.", "foster", ("ian", "t"), False),
        ("ROTH, UWE", "roth", ("uwe",), False),
        ("CHEN, KE", "chen", ("ke",), False),
        ("PEREIRA, ALTAMIRO DA COSTA", "pereira", ("altamiro", "costa"), False),  # 'DA' no initials D A
        ("WANG LI", "li", ("wang",), True),  # still two words, for the corpus vote
    ],
)
def test_names_in_capitals(raw: str, surname: str, given: tuple[str, ...], ambiguous: bool) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.order_ambiguous) == (surname, given, ambiguous)


# Spanish and Portuguese particles between given names are no given-name parts: "Maria del Carmen"
# must fit MEDLINE's "Lopez-Garcia MC". raw, surname, given, display
IBERIAN_GIVEN_NAMES = [
    ("Maria del Carmen Lopez-Garcia", "lopez-garcia", ("maria", "carmen"), "Maria del Carmen Lopez-Garcia"),
    ("Lopez-Garcia, Maria del Carmen", "lopez-garcia", ("maria", "carmen"), "Maria del Carmen Lopez-Garcia"),
    ("LOPEZ-GARCIA María del Carmen", "lopez-garcia", ("maria", "carmen"), "Maria del Carmen Lopez-Garcia"),
    ("Maria Del Carmen Lopez", "lopez", ("maria", "carmen"), "Maria del Carmen Lopez"),
    ("MARIA DEL CARMEN LOPEZ", "lopez", ("maria", "carmen"), "Maria del Carmen Lopez"),
    ("maria del carmen lopez", "lopez", ("maria", "carmen"), "Maria del Carmen Lopez"),
    ("María de los Ángeles Pérez", "perez", ("maria", "angeles"), "Maria de los Angeles Perez"),
    ("Pérez, María de los Ángeles", "perez", ("maria", "angeles"), "Maria de los Angeles Perez"),
    ("Maria de Fatima Silva", "silva", ("maria", "fatima"), "Maria de Fatima Silva"),
    ("Silva, Maria de Fátima", "silva", ("maria", "fatima"), "Maria de Fatima Silva"),
    ("SILVA, MARIA DE FATIMA", "silva", ("maria", "fatima"), "Maria de Fatima Silva"),
    ("José de Jesús Rodríguez", "rodriguez", ("jose", "jesus"), "Jose de Jesus Rodriguez"),
    ("Juan de Dios Martínez", "martinez", ("juan", "dios"), "Juan de Dios Martinez"),
    ("Maria das Graças Souza", "souza", ("maria", "gracas"), "Maria das Gracas Souza"),
    ("Maria do Carmo Silva", "silva", ("maria", "carmo"), "Maria do Carmo Silva"),
    ("Ana Maria dos Anjos Costa", "costa", ("ana", "maria", "anjos"), "Ana Maria dos Anjos Costa"),
    ("Maria de las Mercedes Ruiz", "ruiz", ("maria", "mercedes"), "Maria de las Mercedes Ruiz"),
    ("Jean de Dieu Nkurunziza", "nkurunziza", ("jean", "dieu"), "Jean de Dieu Nkurunziza"),
    # Between initials, written out or glued in MEDLINE's way ("MdC", "MdelC": only the capitals).
    ("Lopez-Garcia, M. del C.", "lopez-garcia", ("m", "c"), "M. del C. Lopez-Garcia"),
    ("Lopez-Garcia M. del C.", "lopez-garcia", ("m", "c"), "M. del C. Lopez-Garcia"),
    ("LOPEZ-GARCIA M DEL C", "lopez-garcia", ("m", "c"), "M. del C. Lopez-Garcia"),
    ("A. de B. Costa", "costa", ("a", "b"), "A. de B. Costa"),
    ("Lopez-Garcia MdC", "lopez-garcia", ("m", "c"), "M. C. Lopez-Garcia"),
    ("Lopez-Garcia MdelC", "lopez-garcia", ("m", "c"), "M. C. Lopez-Garcia"),
    ("Lopez-Garcia Mdel C", "lopez-garcia", ("m", "c"), "M. C. Lopez-Garcia"),
    ("Lopez-Garcia, MdC", "lopez-garcia", ("m", "c"), "M. C. Lopez-Garcia"),
    ("Perez MdeLA", "perez", ("m", "l", "a"), "M. L. A. Perez"),
    # Look-alikes that stay as they were: a particle first or last among the given names, a
    # capitalised "De", "Da" or "Das" (Chinese, Vietnamese, Indian names), surname particles,
    # MEDLINE initials, a name that only starts like "Mdel".
    ("Da Wei Zhang", "zhang", ("da", "wei"), "Da Wei Zhang"),
    ("Zhang, Da Wei", "zhang", ("da", "wei"), "Da Wei Zhang"),
    ("Xiao De Ming Wang", "wang", ("xiao", "de", "ming"), "Xiao De Ming Wang"),
    ("Wang, Jian Da", "wang", ("jian", "da"), "Jian Da Wang"),
    ("Thi Van Anh Nguyen", "nguyen", ("thi", "van", "anh"), "Thi Van Anh Nguyen"),
    ("Ram Das Gupta", "das gupta", ("ram",), "Ram das Gupta"),
    ("Juan de la Fuente", "de la fuente", ("juan",), "Juan de la Fuente"),
    ("Fuente, Juan de la", "de la fuente", ("juan",), "Juan de la Fuente"),
    ("Maria de Souza", "de souza", ("maria",), "Maria de Souza"),
    ("van der Berg, Anna", "van der berg", ("anna",), "Anna van der Berg"),
    ("Berg, Anna van der", "van der berg", ("anna",), "Anna van der Berg"),
    ("Smith DA", "smith", ("d", "a"), "D. A. Smith"),
    ("Da Silva J", "da silva", ("j",), "J. da Silva"),
    ("DE LA CRUZ M", "de la cruz", ("m",), "M. de la Cruz"),
    ("Wang, X. Y. Z.", "wang", ("x", "y", "z"), "X. Y. Z. Wang"),
    ("Hassan Adel M", "hassan adel", ("m",), "M. Hassan Adel"),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "display"), IBERIAN_GIVEN_NAMES, ids=[r[0] for r in IBERIAN_GIVEN_NAMES]
)
def test_particles_between_given_names_are_no_given_names(
    raw: str, surname: str, given: tuple[str, ...], display: str
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.display) == (surname, given, display)


@pytest.mark.parametrize(
    ("full", "medline"),
    [
        ("Maria del Carmen Lopez-Garcia", "Lopez-Garcia MC"),
        ("Maria del Carmen Lopez-Garcia", "Lopez-Garcia MdC"),
        ("Lopez-Garcia, M. del C.", "Lopez-Garcia MC"),
        ("María de los Ángeles Pérez", "Perez MA"),
        ("Silva, Maria de Fátima", "Silva MF"),
        ("Maria das Graças Souza", "Souza MG"),
        ("PEREIRA, ALTAMIRO DA COSTA", "Pereira AC"),
    ],
)
def test_iberian_given_names_fit_their_medline_initials(full: str, medline: str) -> None:
    a, b = parse_name(full), parse_name(medline)
    assert a.block_key == b.block_key
    assert given_match(a.given, b.given) == GivenMatch.INITIALS_ONLY


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("Juan de los Santos", "de los santos", ("juan",)),
        ("Santos, Juan de los", "de los santos", ("juan",)),
        ("DE LOS SANTOS J", "de los santos", ("j",)),
        ("Ana de las Heras", "de las heras", ("ana",)),
        ("João do Nascimento", "do nascimento", ("joao",)),
        ("Nascimento, João do", "do nascimento", ("joao",)),
        ("Maria do Carmo Silva", "silva", ("maria", "carmo")),
        ("Smith DO", "smith", ("d", "o")),  # MEDLINE initials
        ("Do Thi Hoa", "do", ("thi", "hoa")),  # a first word is never a particle; here the family name
    ],
)
def test_spanish_and_portuguese_surname_particles(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


# A Vietnamese name written family name first: Van and Thi after a common family name are middle
# names, not a Dutch particle. raw, surname, given, display, order_ambiguous
VIETNAMESE_NAMES = [
    ("Nguyen Van Anh", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("NGUYEN VAN ANH", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("nguyen van anh", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("Nguy\u1ec5n V\u0103n Anh", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("Le Van Anh", "le", ("van", "anh"), "Van Anh Le", False),
    ("Tran Van Thanh-Hai", "tran", ("van", "thanh", "hai"), "Van Thanh-Hai Tran", False),
    ("Nguyen Thi Minh Khai", "nguyen", ("thi", "minh", "khai"), "Thi Minh Khai Nguyen", False),
    ("\u0110\u1ed7 Th\u1ecb Hoa", "do", ("thi", "hoa"), "Thi Hoa Do", False),
    # The last word a family name too: the corpus votes on the word order.
    ("Le Thi Tran", "le", ("thi", "tran"), "Thi Tran Le", True),
    ("Nguyen Thi Le", "nguyen", ("thi", "le"), "Thi Le Nguyen", True),
    # As before: given names first, MEDLINE initials, Dutch particles, a lower-case "van".
    ("Van Anh Nguyen", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("Nguyen, Van Anh", "nguyen", ("van", "anh"), "Van Anh Nguyen", False),
    ("Nguyen VA", "nguyen", ("v", "a"), "V. A. Nguyen", False),
    ("Nguyen Van", "van", ("nguyen",), "Nguyen Van", True),
    ("Jan van Dijk", "van dijk", ("jan",), "Jan van Dijk", False),
    ("Van Dijk, Jan", "van dijk", ("jan",), "Jan van Dijk", False),
    ("VAN DIJK J", "van dijk", ("j",), "J. van Dijk", False),
    ("Nguyen van Anh", "van anh", ("nguyen",), "Nguyen van Anh", False),
    ("Ho van Dijk", "van dijk", ("ho",), "Ho van Dijk", False),
    ("Nguyen Van A", "nguyen van", ("a",), "A. Nguyen Van", False),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "display", "ambiguous"), VIETNAMESE_NAMES, ids=[r[0] for r in VIETNAMESE_NAMES]
)
def test_vietnamese_names_family_name_first(
    raw: str, surname: str, given: tuple[str, ...], display: str, ambiguous: bool
) -> None:
    parsed = parse_name(raw)
    expected = (surname, given, display, ambiguous)
    assert (parsed.surname, parsed.given, parsed.display, parsed.order_ambiguous) == expected


def test_vietnamese_name_forms_share_a_block() -> None:
    forms = [parse_name(raw) for raw in ["Nguyen Van Anh", "Van Anh Nguyen", "Nguyen VA", "NGUYEN Van Anh"]]
    assert {name.block_key for name in forms} == {"nguyen_v"}
    assert all(given_match(forms[0].given, name.given) for name in forms)


def test_capitalised_trailing_given_name_is_no_particle() -> None:
    assert parse_name("Li, Xiao Bin").surname == "li"
    assert parse_name("Li, Xiao Bin").given == ("xiao", "bin")
    assert parse_name("Berg, Anna van der").surname == "van der berg"


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("A A Mo?benko", "mobenko", ("a", "a")),  # a lost letter does not split the surname
        ("T H\ufffdfker", "hfker", ("t",)),
        ("Hong (Iris) Xie", "xie", ("hong",)),
        ("Xie, Hong (Iris)", "xie", ("hong",)),
        ("B.O'Sullivan", "o'sullivan", ("b",)),
        ("Wang , Michael HLS.", "wang", ("michael", "h", "l", "s")),  # a stray period after initials
        ("Mary O\u2019Brien", "o'brien", ("mary",)),
        # A nickname in quotes is dropped as a parenthesised one is, straight or curly.
        ('Robert "Bob" Smith', "smith", ("robert",)),
        ("Robert 'Bob' Smith", "smith", ("robert",)),
        ("Robert \u201cBob\u201d Smith", "smith", ("robert",)),
        ("Robert \u2018Bob\u2019 Smith", "smith", ("robert",)),
        ('Smith, Robert "Bob"', "smith", ("robert",)),
        ("Smith, Robert 'Bob', Jr.", "smith", ("robert",)),
        # Apostrophes and quotes that are no nickname's stay as they were.
        ("D'Angelo, Mary", "d'angelo", ("mary",)),
        ("I Visona'", "visona", ("i",)),  # MEDLINE's lost accent
        ('"Bob" Smith', "smith", ("bob",)),  # no given name before it
        ('"Smith, John"', "smith", ("john",)),  # a quoted whole name
        ("Smith, 'Bob'", "smith", ("bob",)),
    ],
)
def test_noise_in_names(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("Dr. John Smith", "smith", ("john",)),
        ("Prof. Dr. Hans Müller", "muller", ("hans",)),
        ("Prof.Dr.Hans Müller", "muller", ("hans",)),
        ("Prof. Dr.-Ing. Hans Müller", "muller", ("hans",)),
        ("Dr John Smith", "smith", ("john",)),
        ("DR. JOHN SMITH", "smith", ("john",)),
        ("PROF JOHN SMITH", "smith", ("john",)),  # long capitals without a dot
        ("PROF John Smith", "smith", ("john",)),
        ("Professor Jane Smith", "smith", ("jane",)),
        ("Mr. J. Smith", "smith", ("j",)),
        ("Mrs Jane Smith", "smith", ("jane",)),
        ("Ms. Jane Smith", "smith", ("jane",)),
        ("Mx. Sam Lee", "lee", ("sam",)),
        ("Miss Jane Doe", "doe", ("jane",)),
        ("Sir Tim Berners-Lee", "berners-lee", ("tim",)),
        ("Dame Judi Dench", "dench", ("judi",)),
        ("MISS JANE DOE", "doe", ("jane",)),
        ("Dr. Smith", "smith", ()),
        ("Prof Smith J", "smith", ("j",)),
        # After the surname's comma, or as a piece of their own after the given names.
        ("Smith, Dr. John", "smith", ("john",)),
        ("Müller, Prof. Dr. Hans", "muller", ("hans",)),
        ("Smith, Sir John", "smith", ("john",)),
        ("Smith, Dr. J.", "smith", ("j",)),
        ("SMITH, DR. JOHN", "smith", ("john",)),
        ("Müller, Hans, Prof. Dr.", "muller", ("hans",)),
        ("Dr. Smith, John", "smith", ("john",)),
        ("Ajay K. Gupta, Dr.", "gupta", ("ajay", "k")),
    ],
)
def test_leading_titles_are_dropped(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # MEDLINE: capitals without dots are initials, before or after the surname.
        ("DR Smith", "smith", ("d", "r")),
        ("Smith DR", "smith", ("d", "r")),
        ("MS Smith", "smith", ("m", "s")),
        ("Smith, MS", "smith", ("m", "s")),
        ("MRS Smith", "smith", ("m", "r", "s")),
        ("SMITH DR", "smith", ("d", "r")),
        ("Smith, MS.", "smith", ("m", "s")),  # a lone given piece that can be initials stays
        # Titles stand before the given names only.
        ("John Dr Smith", "smith", ("john", "dr")),
        # A title that is also a name needs a given name and a surname after it.
        ("Dame Ousmane", "ousmane", ("dame",)),
        ("DAME Ousmane", "dame", ("ousmane",)),  # capitals in a mixed-case name: the surname
        ("Dame, Ousmane", "dame", ("ousmane",)),
        ("Drake Smith", "smith", ("drake",)),
    ],
)
def test_what_only_looks_like_a_title_stays(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # A doctorate and its faculty: with dots, in lower case, glued, in capitals.
        ("Dr. med. Hans Müller", "muller", ("hans",)),
        ("Dr.med. Hans Müller", "muller", ("hans",)),
        ("Dr. med Hans Müller", "muller", ("hans",)),
        ("DR. MED. HANS MÜLLER", "muller", ("hans",)),
        ("dr. med. hans müller", "muller", ("hans",)),
        ("Dr. med. dent. Hans Müller", "muller", ("hans",)),
        ("Dr. rer. nat. Anna Schmidt", "schmidt", ("anna",)),
        ("Dr.rer.nat. Anna Schmidt", "schmidt", ("anna",)),
        ("Dr. rer. pol. Hans Müller", "muller", ("hans",)),
        ("Dr. sc. techn. Hans Müller", "muller", ("hans",)),
        ("Dr. phil. Jan Novak", "novak", ("jan",)),
        ("Dr. Ing. Hans Müller", "muller", ("hans",)),
        ("Dr. med. habil. Anna Schmidt", "schmidt", ("anna",)),
        ("Prof. Dr. med. habil. Anna Schmidt", "schmidt", ("anna",)),
        ("Dr. h.c. Hans Müller", "muller", ("hans",)),
        ("Dr. h. c. Hans Müller", "muller", ("hans",)),
        ("Prof. Dr. Dr. h.c. mult. Hans Müller", "muller", ("hans",)),
        ("Dr.-Ing. E.h. Hans Müller", "muller", ("hans",)),
        ("Dr. med. H. Müller", "muller", ("h",)),
        ("Dr. med. Smith", "smith", ()),
        # Ranks: hyphenated, or a prefix before another title ("PD", "apl.", "ao.", "o.").
        ("PD Dr. med. Eva Braun", "braun", ("eva",)),
        ("PD Dr. Eva Braun", "braun", ("eva",)),
        ("Priv.-Doz. Dr. Eva Braun", "braun", ("eva",)),
        ("Univ.-Prof. Dr. Eva Braun", "braun", ("eva",)),
        ("Univ. Prof. Dr. Eva Braun", "braun", ("eva",)),
        ("Univ.Prof. Dr. Eva Braun", "braun", ("eva",)),
        ("ao. Univ.-Prof. Dr. Anna Schmidt", "schmidt", ("anna",)),
        ("a.o. Univ.-Prof. Dr. Anna Schmidt", "schmidt", ("anna",)),
        ("apl. Prof. Dr. Anna Schmidt", "schmidt", ("anna",)),
        ("o. Prof. Dr. Hans Müller", "muller", ("hans",)),
        ("Prof. em. Dr. Hans Müller", "muller", ("hans",)),
        # Diplomas and Magister, Austrian, Czech and Slovak degrees.
        ("Dipl.-Ing. Jan Novák", "novak", ("jan",)),
        ("Dipl. Ing. Jan Novák", "novak", ("jan",)),
        ("Dipl.-Kfm. Hans Müller", "muller", ("hans",)),
        ("Dipl.-Ing. Dr. techn. Jan Novák", "novak", ("jan",)),
        ("Ing. Jan Novák", "novak", ("jan",)),
        ("ING. JAN NOVÁK", "novak", ("jan",)),
        ("Ing. arch. Jan Novák", "novak", ("jan",)),
        ("Mag. Jan Novák", "novak", ("jan",)),
        ("Mag. rer. nat. Anna Schmidt", "schmidt", ("anna",)),
        ("Mag. pharm. Eva Braun", "braun", ("eva",)),
        ("MUDr. Jan Novák", "novak", ("jan",)),
        ("MUDR. JAN NOVÁK", "novak", ("jan",)),
        ("RNDr. Jan Novák", "novak", ("jan",)),
        ("PhDr. Jan Novák", "novak", ("jan",)),
        ("JUDr. Jan Novák", "novak", ("jan",)),
        ("Mgr. Jan Novák", "novak", ("jan",)),
        ("Doc. Jan Novák", "novak", ("jan",)),
        ("doc. Ing. Jan Novák, PhD.", "novak", ("jan",)),
        ("Doc. MUDr. Jan Novák, CSc.", "novak", ("jan",)),
        ("prof. RNDr. Jan Novák, DrSc.", "novak", ("jan",)),
        # Polish, Italian, Spanish, Dutch and Indonesian ones.
        ("dr hab. inż. Jan Kowalski", "kowalski", ("jan",)),
        ("prof. dr hab. inż. Jan Kowalski", "kowalski", ("jan",)),
        ("mgr inż. Anna Nowak", "nowak", ("anna",)),
        ("Dott. Mario Rossi", "rossi", ("mario",)),
        ("Dott.ssa Maria Rossi", "rossi", ("maria",)),
        ("Prof.ssa Maria Rossi", "rossi", ("maria",)),
        ("Dott. Ing. Mario Rossi", "rossi", ("mario",)),
        ("Dra. María García", "garcia", ("maria",)),
        ("Drs. Jan de Vries", "de vries", ("jan",)),
        ("Prof. Dr. Ir. Budi Santoso", "santoso", ("budi",)),
        # After the surname's comma, and as a piece of their own after the given names.
        ("Schmidt, Dr. rer. nat. Anna", "schmidt", ("anna",)),
        ("Novák, Ing. Jan", "novak", ("jan",)),
        ("Müller, Hans, Dr. med.", "muller", ("hans",)),
        ("Müller, H., Dr. med.", "muller", ("h",)),
        ("MÜLLER, HANS, DR. MED.", "muller", ("hans",)),
        ("Novák, Jan, Ing.", "novak", ("jan",)),
        ("Novák, Jan, MUDr.", "novak", ("jan",)),
        ("Smith, John, Dr. med., PhD", "smith", ("john",)),
        ("Hans Müller, Dr. med.", "muller", ("hans",)),
        ("HANS MÜLLER, Dr. med.", "muller", ("hans",)),
        ("Hans Müller, Dr. rer. nat.", "muller", ("hans",)),
        ("Hans Müller, PD Dr. med.", "muller", ("hans",)),
        ("Jan Novák, Dipl.-Ing.", "novak", ("jan",)),
    ],
)
def test_academic_titles_are_dropped(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # MEDLINE initials: "PD" is a title only before another title.
        ("Smith PD", "smith", ("p", "d")),
        ("PD Smith", "smith", ("p", "d")),
        ("Smith, PD", "smith", ("p", "d")),
        ("SMITH PD", "smith", ("p", "d")),
        ("O. Prof. Smith", "smith", ("o", "prof")),  # a lone capital letter is an initial
        ("RNDR Smith", "smith", ("r", "n", "d", "r")),  # an academic title in capitals needs its dot
        # "Ing", "Mag", "Doc" are names too: a title only with its dot and a given name after it.
        ("Ing Wang", "wang", ("ing",)),
        ("Ing. Wang", "wang", ("ing",)),
        ("Ing Jan Novák", "novak", ("ing", "jan")),
        ("Ing Marie Svensson", "svensson", ("ing", "marie")),
        ("Ing-Marie Svensson", "svensson", ("ing", "marie")),
        ("Novák, Ing.", "novak", ("ing",)),
        ("Mag Ruffman", "ruffman", ("mag",)),
        ("Doc Rivers", "rivers", ("doc",)),
        # A faculty is one only right after a degree, with its dot or in lower case.
        ("Dr. Phil Collins", "collins", ("phil",)),
        ("Dr. Nat Smith", "smith", ("nat",)),
        ("dr. phil smith", "smith", ("phil",)),  # all in lower case: 'phil' is a name
        ("Nat King Cole", "cole", ("nat", "king")),
        ("Phil. Smith", "smith", ("phil",)),
        ("Dr. H.C. Smith", "smith", ("h", "c")),  # 'h.c.' only in lower case: else initials
        ("Dr.-Ing. E. H. Müller", "muller", ("e", "h")),
        ("Dr. des Jardins", "jardins", ("des",)),  # particles are not faculties
    ],
)
def test_what_only_looks_like_an_academic_title_stays(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("titled", "plain"),
    [
        ("Dr. med. Hans Müller", "Hans Müller"),
        ("PD Dr. med. Eva Braun", "Eva Braun"),
        ("Hans Müller, Dr. med.", "Hans Müller"),
        ("Dr. rer. nat. Wang Wei", "Wang Wei"),
        ("Müller, Hans, Dr. med.", "Müller, Hans"),
        ("Schmidt, Dr. rer. nat. Anna", "Schmidt, Anna"),
    ],
)
def test_an_academic_title_changes_nothing_else(titled: str, plain: str) -> None:
    # Same parse, word-order vote and display as the name without it.
    assert parse_name(titled) == parse_name(plain)
    assert parse_name(titled).display == parse_name(plain).display


def test_a_title_does_not_decide_the_word_order() -> None:
    # "Dr. Wang Wei" may be Dr. Wang: the two words are still for the corpus vote.
    assert parse_name("Dr. Wang Wei") == parse_name("Wang Wei")
    assert parse_name("Dr. Wang Wei").order_ambiguous
    assert parse_name("Prof. Dr. Hans Müller") == parse_name("Hans Müller")
    assert parse_name("Smith, Dr. John").display == "John Smith"


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("John Smith MSc", "smith", ("john",)),
        ("John Smith, MBA", "smith", ("john",)),
        ("Jane Doe, PharmD", "doe", ("jane",)),
        ("Jane Doe DPhil", "doe", ("jane",)),
        ("John Smith FRCS FACS", "smith", ("john",)),
        ("Jane Doe, BSc, MPH", "doe", ("jane",)),
        ("Smith, John, MD, MPH", "smith", ("john",)),
        ("Smith, John, FRCP, MRCP", "smith", ("john",)),
        ("Dr. Jane Doe, PhD, MPH", "doe", ("jane",)),
        # Capitals that are needed as a lone surname's initials stay initials.
        ("Smith MSC", "smith", ("m", "s", "c")),
        ("Smith, MPH", "smith", ("m", "p", "h")),
        ("Smith, MBA", "smith", ("m", "b", "a")),
    ],
)
def test_trailing_degrees_are_dropped(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize(
    ("native", "latin"),
    [
        ("王伟", "Wei Wang"),
        ("王小明", "Xiaoming Wang"),
        ("王小明", "Wang, Xiaoming"),
        ("王 小明", "Xiaoming Wang"),  # a space marks the family name
        ("王\u3000小明", "Xiaoming Wang"),  # ideographic space
        ("張偉", "Wei Zhang"),  # traditional characters
        ("欧阳娜娜", "Nana Ouyang"),  # two-character family names
        ("歐陽娜娜", "Nana Ouyang"),
        ("司马光", "Guang Sima"),
        ("诸葛亮", "Liang Zhuge"),
        ("尉迟恭", "Gong Yuchi"),
        ("长孙无忌", "Wuji Zhangsun"),
        ("东方", "Fang Dong"),  # no given name would be left: a one-character family name
        ("曾小明", "Xiaoming Zeng"),  # a family name's own reading, not the usual Ceng
        ("翟明", "Ming Zhai"),
        ("王伟1,2", "Wei Wang"),  # byline markers
        ("김민준", "Minjun Kim"),
        ("김 민준", "Minjun Kim"),
        ("이민호", "Minho Lee"),
        ("박지성", "Jiseong Park"),
        ("최", "Choi"),
        ("남궁민", "Min Namgung"),
    ],
)
def test_chinese_and_korean_script_names_are_family_name_first(native: str, latin: str) -> None:
    parsed, expected = parse_name(native), parse_name(latin)
    assert (parsed.surname, parsed.given, parsed.block_key) == (expected.surname, expected.given, expected.block_key)
    assert parsed.display == expected.display
    assert not parsed.order_ambiguous  # the script tells the order: no corpus vote


def test_chinese_name_display_and_initials() -> None:
    parsed = parse_name("王小明")
    assert (parsed.given_display, parsed.surname_display) == ("Xiaoming", "Wang")
    assert parsed.as_initials() == "X. Wang"


@pytest.mark.parametrize(
    "raw",
    [
        "迈克尔·乔丹",  # a middle dot: a transliterated name in its own order (Michael Jordan)
        "やまだ たろう",  # kana: Japanese
        "山田たろう",  # kanji and kana
        "王小明 Wang",  # mixed scripts
        "金민준",
    ],
)
def test_other_east_asian_names_keep_the_general_parse(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.surname
    assert parsed.order_ambiguous == (len(raw.replace("·", " ").split()) == 2)


def test_resolve_name_order_never_flips_a_chinese_script_name() -> None:
    # The corpus uses Wei as a surname far more than Wang; "王伟" is still Wang Wei.
    corpus = [parse_name(raw) for raw in ["Wei, Li", "Wei, Ming", "Wei, Hong", "王伟", "Wang Wei"]]
    resolved = resolve_name_order(corpus)
    assert (resolved[3].surname, resolved[3].given) == ("wang", ("wei",))
    assert (resolved[4].surname, resolved[4].given) == ("wei", ("wang",))  # the Latin one is voted on


@pytest.mark.parametrize(("raw", "display"), [("BIN LI", "Bin Li"), ("LI, Bin", "Bin Li"), ("MA Y", "Y. Ma")])
def test_short_surname_in_capitals_is_displayed_as_a_word(raw: str, display: str) -> None:
    assert parse_name(raw).display == display


def test_to_initials() -> None:
    assert to_initials("Ajay K. Gupta") == "A. K. Gupta"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (("daniel",), ("david",), GivenMatch.INCOMPATIBLE),
        (("d",), ("david",), GivenMatch.INITIALS_ONLY),
        (("bob",), ("robert",), GivenMatch.VARIANT),
        (("mohamed",), ("mohammed",), GivenMatch.VARIANT),
        (("j", "c"), ("j", "h"), GivenMatch.INCOMPATIBLE),
        (("wei",), ("wen",), GivenMatch.INCOMPATIBLE),
        (("dan",), ("daniel",), GivenMatch.VARIANT),
        (("daniel",), ("daniel",), GivenMatch.EXACT),
        (("d",), ("e",), GivenMatch.INCOMPATIBLE),
    ],
)
def test_given_match(a: tuple[str, ...], b: tuple[str, ...], expected: GivenMatch) -> None:
    assert given_match(a, b) == expected
    assert given_match(b, a) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("jean", "pierre"), ("jeanpierre",)),
        (("jian", "chun"), ("j", "c")),
        (("jean", "pierre"), ("j", "p")),
        (("jean",), ("jean", "pierre")),  # a missing middle name never conflicts
    ],
)
def test_given_match_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert given_match(a, b) != GivenMatch.INCOMPATIBLE
    assert given_match(b, a) != GivenMatch.INCOMPATIBLE


def test_given_match_hyphen_joined_is_not_mere_initials() -> None:
    assert given_match(("jean", "pierre"), ("jeanpierre",)) >= GivenMatch.VARIANT


def test_resolve_name_order_uses_corpus_surnames() -> None:
    corpus = [parse_name(raw) for raw in ["Wang, Wei", "Wang, Li", "Wang Wei"]]
    resolved = resolve_name_order(corpus)
    assert len(resolved) == 3
    assert resolved[:2] == corpus[:2]  # unambiguous names are untouched
    assert resolved[2].surname == "wang"
    assert resolved[2].given == ("wei",)
    assert resolved[2].block_key == "wang_w"


def test_coauthors_vote_on_word_order_as_mentions_do() -> None:
    # Every mention writes two bare words, in either order: only the author lists say which is
    # the surname.
    corpus = [parse_name(raw) for raw in ["Wang Xiaoming", "Xiaoming Wang", "Mueller Wolfgang"]]
    assert [n.block_key for n in resolve_name_order(corpus)] == ["xiaoming_w", "wang_x", "wolfgang_m"]
    coauthors = [parse_name(raw) for raw in ["X. Wang", "Wang, Li", "W. E. Mueller", "Lei Wolfgang"]]
    assert [n.block_key for n in resolve_name_order(corpus, coauthors)] == ["wang_x", "wang_x", "mueller_w"]


def test_resolve_name_order_never_splits_a_hyphenated_given_name() -> None:
    # Read the other way, "Wang-Chang Su" would be surname Wang, given name Su.
    corpus = [parse_name(raw) for raw in ["Wang, Wei", "Wang, Li", "Wang-Chang Su", "Wang Shu-Hong"]]
    resolved = resolve_name_order(corpus)
    assert (resolved[2].surname, resolved[2].given) == ("su", ("wang", "chang"))
    # Still voted on, and read as "Wang, Shu-Hong" is.
    assert (resolved[3].surname, resolved[3].given) == ("wang", ("shu", "hong"))
    assert resolved[3].given == parse_name("Wang, Shu-Hong").given


def test_resolve_name_order_keeps_western_order_without_evidence() -> None:
    corpus = [parse_name(raw) for raw in ["Wei, Zhang", "Wang Wei"]]
    resolved = resolve_name_order(corpus)
    assert resolved[1].surname == "wei"
    assert resolved[1].given == ("wang",)


# A name in capitals of two or more words and then dotted initials may be written surname first
# ("GUPTA AJAY K.") or be a compound surname ("GARCIA MARQUEZ J."): the corpus votes.
@pytest.mark.parametrize(
    ("raw", "surname", "given", "other_surname", "other_given", "other_display"),
    [
        ("GUPTA AJAY K.", "gupta ajay", ("k",), "gupta", ("ajay", "k"), "Ajay K. Gupta"),
        ("GUPTA AJAY K. JR.", "gupta ajay", ("k",), "gupta", ("ajay", "k"), "Ajay K. Gupta"),
        (
            "WANG MICHAEL H.L.S.",
            "wang michael",
            ("h", "l", "s"),
            "wang",
            ("michael", "h", "l", "s"),
            "Michael H. L. S. Wang",
        ),
        ("WANG SHU-HONG J.", "wang shu-hong", ("j",), "wang", ("shu", "hong", "j"), "Shu-Hong J. Wang"),
        ("GARCIA MARQUEZ J.", "garcia marquez", ("j",), "garcia", ("marquez", "j"), "Marquez J. Garcia"),
    ],
)
def test_capitals_surname_first_with_dotted_initials_is_for_the_vote(
    raw: str,
    surname: str,
    given: tuple[str, ...],
    other_surname: str,
    other_given: tuple[str, ...],
    other_display: str,
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.order_ambiguous) == (surname, given, True)  # the default as before
    other = swapped(parsed)
    assert (other.surname, other.given, other.display, other.order_ambiguous) == (
        other_surname,
        other_given,
        other_display,
        True,
    )


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("GUPTA AJAY K", "gupta ajay", ("k",)),  # no dots: MEDLINE's compound surname
        ("GARCIA MARQUEZ J", "garcia marquez", ("j",)),
        ("GARCIA MARQUEZ JC", "garcia marquez", ("j", "c")),
        ("GUPTA A. K.", "gupta", ("a", "k")),  # initials after one word: it is the surname
        ("GUPTA AK", "gupta", ("a", "k")),
        ("Gupta Ajay K.", "gupta ajay", ("k",)),  # mixed case: as written in Scopus
        ("GUPTA, AJAY K.", "gupta", ("ajay", "k")),
        ("VAN DER BERG ANNA M.", "van der berg anna", ("m",)),  # a particle: not split off
        # Given names first, voting for the last word: see _open_to_vote.
        ("AJAY K. GUPTA", "gupta", ("ajay", "k")),
        ("AJAY KUMAR GUPTA", "gupta", ("ajay", "kumar")),
        ("A. KUMAR GUPTA", "gupta", ("a", "kumar")),
    ],
)
def test_names_of_three_words_whose_order_is_not_voted_on(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.order_ambiguous) == (surname, given, False)


def test_resolve_name_order_reads_capitals_surname_first_with_the_corpus() -> None:
    # Ajay is a surname here more often than Gupta: "AJAY K. GUPTA" still keeps its given names
    # first, and "GUPTA AJAY K." is read as Gupta, not as the surname "Gupta Ajay".
    raws = ["Ajay, Kumar", "Ajay, Rao", "Gupta, Ajay", "AJAY K. GUPTA", "GUPTA AJAY K."]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert [(n.surname, n.given, n.block_key) for n in resolved[3:]] == [("gupta", ("ajay", "k"), "gupta_a")] * 2
    assert resolved[4].display == "Ajay K. Gupta"


def test_resolve_name_order_keeps_a_compound_surname_the_corpus_knows() -> None:
    raws = ["Garcia Marquez, J.", "Garcia Marquez, Jose", "Garcia, Ana", "GARCIA MARQUEZ J."]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert (resolved[3].surname, resolved[3].given) == ("garcia marquez", ("j",))
    # Without any vote the name keeps its default reading.
    alone = resolve_name_order([parse_name("GUPTA AJAY K.")])
    assert (alone[0].surname, alone[0].given) == ("gupta ajay", ("k",))


# "José García Márquez" may have a two-word surname, as Spanish names often do: the corpus's firm
# names decide, and the name's own reading still votes on the word order of others.
@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("José García Márquez", "garcia marquez", ("jose",)),
        ("JOSE GARCIA MARQUEZ", "garcia marquez", ("jose",)),
        ("María José García Márquez", "garcia marquez", ("maria", "jose")),
        ("J. Garcia Marquez", "garcia marquez", ("j",)),
        ("Jose A. Garcia Marquez", "garcia marquez", ("jose", "a")),
    ],
)
def test_a_name_may_have_a_two_word_surname(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert parsed.second_reading
    assert not parsed.order_ambiguous
    assert parsed.surname == "marquez"  # the default reading, as before
    other = swapped(parsed)
    assert (other.surname, other.given, other.block_key) == (surname, given, f"garciamarquez_{given[0][0]}")


@pytest.mark.parametrize(
    "raw",
    [
        "Wang Wei",  # two words: the word-order vote
        "Ajay K. Gupta",  # a middle initial last
        "Maria del Carmen Lopez",  # a given name after a particle
        "Maria de Souza",
        "Anna van der Berg",
        "José García-Márquez",
        "García Márquez, José",
        "GARCIA MARQUEZ J",
        "José GARCIA MARQUEZ",
    ],
)
def test_names_not_open_to_a_two_word_surname(raw: str) -> None:
    assert not parse_name(raw).second_reading


def test_resolve_name_order_reads_a_two_word_surname_the_corpus_knows() -> None:
    raws = ["García-Márquez, J.", "Garcia Marquez J", "Márquez, Ana", "José García Márquez", "Ajay Kumar Gupta"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert [(n.surname, n.given) for n in resolved[3:]] == [("garcia marquez", ("jose",)), ("gupta", ("ajay", "kumar"))]
    assert resolved[3].block_key == parse_name("García-Márquez, J.").block_key == "garciamarquez_j"


# The "e" of a Portuguese compound surname is no initial. Read alone, "Ana de Souza e Silva" has
# the surname Silva, as Brazilian catalogues enter it ("Silva AS"); the compound "de Souza e Silva"
# of "de Souza e Silva A" is its second reading, for the corpus's firm names to choose. The "y" of
# a Spanish one makes the surname whole ("Ortega y Gasset J"), and is an initial elsewhere.
# raw, surname, given, display, second reading's surname and given names (None: no second reading)
COMPOUND_SURNAMES = [
    ("Ana de Souza e Silva", "silva", ("ana", "souza"), "Ana de Souza e Silva", ("de souza e silva", ("ana",))),
    ("Ana Souza e Silva", "silva", ("ana", "souza"), "Ana Souza e Silva", ("souza e silva", ("ana",))),
    ("A. de Souza e Silva", "silva", ("a", "souza"), "A. de Souza e Silva", ("de souza e silva", ("a",))),
    ("Silva, Ana de Souza e", "silva", ("ana", "souza"), "Ana de Souza e Silva", None),  # ABNT
    ("Souza e Silva, Ana", "souza e silva", ("ana",), "Ana Souza e Silva", None),
    ("de Souza e Silva A", "de souza e silva", ("a",), "A. de Souza e Silva", None),  # MEDLINE
    ("Souza e Silva AS", "souza e silva", ("a", "s"), "A. S. Souza e Silva", None),
    ("SOUZA E SILVA A", "souza e silva", ("a",), "A. Souza e Silva", None),
    ("DE SOUZA E SILVA A", "de souza e silva", ("a",), "A. de Souza e Silva", None),
    ("Souza e Silva", "silva", ("souza",), "Souza e Silva", None),  # no given name would be left
    ("José Ortega y Gasset", "ortega y gasset", ("jose",), "Jose Ortega y Gasset", None),
    ("Juan Pérez y de la Fuente", "perez y de la fuente", ("juan",), "Juan Perez y de la Fuente", None),
    ("G J Otero y Garzón", "otero y garzon", ("g", "j"), "G. J. Otero y Garzon", None),
    ("Wei Y Zhang", "zhang", ("wei", "y"), "Wei Y. Zhang", None),  # was the surname "y zhang"
    ("WEI Y ZHANG", "zhang", ("wei", "y"), "Wei Y. Zhang", None),
    ("R Y Zhu", "zhu", ("r", "y"), "R. Y. Zhu", None),
    ("ZHANG, WEI Y", "zhang", ("wei", "y"), "Wei Y. Zhang", None),
    ("Timothy Y Y Lai", "lai", ("timothy", "y", "y"), "Timothy Y. Y. Lai", None),
    # Look-alikes that stay as they were: a middle initial E, in any case; "E" in capitals where
    # no initials follow (it may be John E. Smith's), MEDLINE initials.
    ("John E Smith", "smith", ("john", "e"), "John E. Smith", None),
    ("JOHN E SMITH", "smith", ("john", "e"), "John E. Smith", None),
    ("john e smith", "smith", ("john", "e"), "John E. Smith", None),
    ("ANA DE SOUZA E SILVA", "silva", ("ana", "souza", "e"), "Ana de Souza E. Silva", None),
    ("Smith JE", "smith", ("j", "e"), "J. E. Smith", None),
    ("J E Ramirez Vargas", "vargas", ("j", "e", "ramirez"), "J. E. Ramirez Vargas", ("ramirez vargas", ("j", "e"))),
    ("Ortega y Gasset J", "ortega y gasset", ("j",), "J. Ortega y Gasset", None),
    ("ORTEGA Y GASSET J", "ortega y gasset", ("j",), "J. Ortega y Gasset", None),
    ("Ortega y Gasset, José", "ortega y gasset", ("jose",), "Jose Ortega y Gasset", None),
    ("María y José López", "lopez", ("maria", "jose"), "Maria y Jose Lopez", None),
    ("Zhang, Wei Y.", "zhang", ("wei", "y"), "Wei Y. Zhang", None),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "display", "second"), COMPOUND_SURNAMES, ids=[r[0] for r in COMPOUND_SURNAMES]
)
def test_the_conjunction_of_a_compound_surname_is_no_initial(
    raw: str,
    surname: str,
    given: tuple[str, ...],
    display: str,
    second: tuple[str, tuple[str, ...]] | None,
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.display) == (surname, given, display)
    if second is None:
        assert not parsed.second_reading
    else:
        other = swapped(parsed)
        assert parsed.second_reading and (other.surname, other.given, other.display) == (*second, display)


def test_resolve_name_order_reads_a_compound_surname_the_corpus_knows() -> None:
    raws = ["de Souza e Silva A", "Silva, Bruno", "Ana de Souza e Silva", "Ana de Souza e Silva"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert [n.block_key for n in resolved[2:]] == ["silva_a"] * 2  # one vote each: the last word stays
    resolved = resolve_name_order([parse_name(raw) for raw in ["de Souza e Silva A", *raws[2:]]])
    assert [(n.block_key, n.given) for n in resolved[1:]] == [("desouzaesilva_a", ("ana",))] * 2


# An Irish surname without its apostrophe: "Patrick O Brien" cannot be told from a middle initial
# O ("Sara O Vargas") alone, so O'Brien is its second reading, for the corpus to choose; "O Brien P"
# can only be O'Brien. raw, surname, given, second reading's surname and given names (or None)
IRISH_O_NAMES = [
    ("Patrick O Brien", "brien", ("patrick", "o"), ("o'brien", ("patrick",))),
    ("PATRICK O BRIEN", "brien", ("patrick", "o"), ("o'brien", ("patrick",))),
    ("Mary Ann O Neill", "neill", ("mary", "ann", "o"), ("o'neill", ("mary", "ann"))),
    ("O Brien P", "o'brien", ("p",), None),
    ("O BRIEN PJ", "o'brien", ("p", "j"), None),
    # As before: a middle initial O before another surname, after an initial or with a dot.
    ("Sara O Vargas", "vargas", ("sara", "o"), None),
    ("John O Smith", "smith", ("john", "o"), None),
    ("P O Brien", "brien", ("p", "o"), None),
    ("Patrick O. Brien", "brien", ("patrick", "o"), None),
    ("patrick o brien", "brien", ("patrick", "o"), None),
    ("O Brien", "brien", ("o",), None),
]


@pytest.mark.parametrize(("raw", "surname", "given", "second"), IRISH_O_NAMES, ids=[r[0] for r in IRISH_O_NAMES])
def test_an_irish_o_without_its_apostrophe(
    raw: str, surname: str, given: tuple[str, ...], second: tuple[str, tuple[str, ...]] | None
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)
    if second is None:
        assert not parsed.second_reading
    else:
        other = swapped(parsed)
        assert parsed.second_reading and (other.surname, other.given) == second
        assert other.block_key == parse_name(f"{second[0]}, {second[1][0]}").block_key


def test_resolve_name_order_reads_an_irish_o_the_corpus_knows() -> None:
    resolved = resolve_name_order([parse_name(raw) for raw in ["O'Brien P", "Patrick O Brien", "Sara O Vargas"]])
    assert [(n.block_key, n.given) for n in resolved[1:]] == [("obrien_p", ("patrick",)), ("vargas_s", ("sara", "o"))]
    # Without O'Brien among the firm names the O stays a middle initial.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Brien, Mark", "Patrick O Brien"]])
    assert (resolved[1].block_key, resolved[1].given) == ("brien_p", ("patrick", "o"))


# A Russian, Ukrainian or Belarusian name written family name first with its patronymic, as
# eLibrary and Russian journals write it, is read as "Ivan Ivanovich Ivanov" is; the Western
# reading, with the patronymic as the surname, is its second reading, for the corpus to choose.
# raw, surname, given, display, second reading's surname (None: no such reading)
EAST_SLAVIC_NAMES = [
    ("Ivanov Ivan Ivanovich", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", "ivanovich"),
    (
        "Иванов Иван Иванович",
        "ivanov",
        ("ivan", "ivanovich"),
        "Ivan Ivanovich Ivanov",
        "ivanovich",
    ),
    ("IVANOV IVAN IVANOVICH", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", "ivanovich"),
    ("ivanov ivan ivanovich", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", "ivanovich"),
    ("Ivanova Anna Sergeevna", "ivanova", ("anna", "sergeevna"), "Anna Sergeevna Ivanova", "sergeevna"),
    ("Tolstoy Lev Nikolayevich", "tolstoy", ("lev", "nikolayevich"), "Lev Nikolayevich Tolstoy", "nikolayevich"),
    ("Ulyanova Mariya Il'inichna", "ulyanova", ("mariya", "ilinichna"), "Mariya Il'inichna Ulyanova", "il'inichna"),
    (
        "Rimsky-Korsakov Nikolai Andreyevich",
        "rimsky-korsakov",
        ("nikolai", "andreyevich"),
        "Nikolai Andreyevich Rimsky-Korsakov",
        "andreyevich",
    ),
    # Ukrainian (national transliteration; anyascii reads the Cyrillic with Russian g and i) and Belarusian.
    (
        "Shevchenko Taras Hryhorovych",
        "shevchenko",
        ("taras", "hryhorovych"),
        "Taras Hryhorovych Shevchenko",
        "hryhorovych",
    ),
    (
        "Шевченко Тарас Григорович",  # noqa: RUF001 (Cyrillic, not Latin look-alikes)
        "shevchenko",
        ("taras", "grigorovich"),
        "Taras Grigorovich Shevchenko",
        "grigorovich",
    ),
    ("Kovalenko Oksana Ivanivna", "kovalenko", ("oksana", "ivanivna"), "Oksana Ivanivna Kovalenko", "ivanivna"),
    (
        "Петренко Оксана Іванівна",
        "petrenko",
        ("oksana", "ivanivna"),
        "Oksana Ivanivna Petrenko",
        "ivanivna",
    ),
    (
        "Bykau Vasil Uladzimiravich",
        "bykau",
        ("vasil", "uladzimiravich"),
        "Vasil Uladzimiravich Bykau",
        "uladzimiravich",
    ),
    # As before: given names first, a comma, initials, a capitals surname, two words; a patronymic
    # in the middle ("Shostakovich" is the surname), or as an initial, which cannot be told from
    # "Garcia Marquez J."; a Western given name first; Serbo-Croatian -ić; German and bare -ich.
    ("Ivan Ivanovich Ivanov", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", None),
    ("Ivanov, Ivan Ivanovich", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", None),
    ("Ivanov I.I.", "ivanov", ("i", "i"), "I. I. Ivanov", None),
    ("I. I. Ivanov", "ivanov", ("i", "i"), "I. I. Ivanov", None),
    ("IVANOV Ivan Ivanovich", "ivanov", ("ivan", "ivanovich"), "Ivan Ivanovich Ivanov", None),
    ("Ivanov Ivan I.", "ivanov ivan", ("i",), "I. Ivanov Ivan", None),
    (
        "Dmitri Dmitriyevich Shostakovich",
        "shostakovich",
        ("dmitri", "dmitriyevich"),
        "Dmitri Dmitriyevich Shostakovich",
        None,
    ),
    ("Roman Abramovich", "abramovich", ("roman",), "Roman Abramovich", None),
    ("Novak Djokovic", "djokovic", ("novak",), "Novak Djokovic", None),
    ("Ana Marija Petrovi\u0107", "petrovic", ("ana", "marija"), "Ana Marija Petrovic", None),
    ("John Paul Rabinovich", "rabinovich", ("john", "paul"), "John Paul Rabinovich", None),
    ("Jodi Heintz Obradovich", "obradovich", ("jodi", "heintz"), "Jodi Heintz Obradovich", None),
    # A first word that ends as no East Slavic family name does: a given name.
    ("Tatiana Maria Petrovich", "petrovich", ("tatiana", "maria"), "Tatiana Maria Petrovich", None),
    ("Goran Milan Markovich", "markovich", ("goran", "milan"), "Goran Milan Markovich", None),
    ("Juan Carlos Petrovich", "petrovich", ("juan", "carlos"), "Juan Carlos Petrovich", None),
    ("Mei Ling Rabinovich", "rabinovich", ("mei", "ling"), "Mei Ling Rabinovich", None),
    ("Hans Peter Friedrich", "friedrich", ("hans", "peter"), "Hans Peter Friedrich", None),
    ("Ulyanov Vladimir Il'ich", "il'ich", ("ulyanov", "vladimir"), "Ulyanov Vladimir Il'ich", None),
    ("Fauna Maria Ivna", "ivna", ("fauna", "maria"), "Fauna Maria Ivna", None),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "display", "second"), EAST_SLAVIC_NAMES, ids=[r[0] for r in EAST_SLAVIC_NAMES]
)
def test_east_slavic_names_family_name_first(
    raw: str, surname: str, given: tuple[str, ...], display: str, second: str | None
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.display) == (surname, given, display)
    if second is None:
        assert parsed.second_reading != GIVEN_NAMES_FIRST
    else:
        other = swapped(parsed)
        assert parsed.second_reading == GIVEN_NAMES_FIRST and not parsed.order_ambiguous
        assert (other.surname, other.given[-1]) == (second, given[0])


def test_east_slavic_name_forms_share_a_block() -> None:
    forms = ["Ivanov Ivan Ivanovich", "Ivan Ivanovich Ivanov", "Ivanov, Ivan Ivanovich", "Ivanov I.I.", "I. I. Ivanov"]
    assert {registry_block_key(raw) for raw in forms} == {"ivanov_i"}
    parsed = [parse_name(raw) for raw in forms]
    assert all(given_match(parsed[0].given, name.given) for name in parsed)


def test_resolve_name_order_reads_a_slavic_surname_last_the_corpus_knows() -> None:
    # "Popov Lev Aronovich" starts as a family name does: family name first alone, given names
    # first where the corpus's firm names have the surname Aronovich (more than Popov).
    assert registry_block_key("Popov Lev Aronovich") == "popov_l"
    raws = ["Aronovich, M.", "Popov Lev Aronovich", "Ivanov Ivan Ivanovich", "Ivanov, Petr"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert [n.block_key for n in resolved[1:3]] == ["aronovich_p", "ivanov_i"]


@pytest.mark.parametrize(
    ("raw", "first", "second"),
    [
        ("AKG Gupta", ("akg", ("gupta",)), ("gupta", ("a", "k", "g"))),
        ("LI Wei", ("li", ("wei",)), ("wei", ("l", "i"))),
        ("MA Lin", ("ma", ("lin",)), ("lin", ("m", "a"))),
    ],
)
def test_capitals_that_may_be_initials_have_google_scholars_reading_second(
    raw: str, first: tuple[str, tuple[str, ...]], second: tuple[str, tuple[str, ...]]
) -> None:
    parsed = parse_name(raw)
    assert parsed.second_reading == INITIALS_FIRST and not parsed.capitals_surname
    assert (parsed.surname, parsed.given) == first  # alone, as "LI Wei" must be read
    assert (swapped(parsed).surname, swapped(parsed).given) == second


@pytest.mark.parametrize(
    ("raw", "given", "surname"),
    [
        ("JA Smith", ("j", "a"), "smith"),
        ("PA Yushkevich", ("p", "a"), "yushkevich"),
        ("DE Goldberg", ("d", "e"), "goldberg"),
    ],
)
def test_two_capitals_first_that_are_no_short_surname_are_initials_alone(
    raw: str, given: tuple[str, ...], surname: str
) -> None:
    # Google Scholar's initials: a registry reads one name at a time, with no corpus to vote.
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given) and not parsed.second_reading


@pytest.mark.parametrize("raw", ["HAZIZA Daniel", "GUPTA Ajay K.", "José GARCIA MARQUEZ"])
def test_a_surname_in_capitals_that_cannot_be_initials_marks_the_style(raw: str) -> None:
    assert parse_name(raw).capitals_surname and not parse_name(raw).second_reading


def test_google_scholar_initials_are_read_where_the_corpus_writes_no_capitals_surname() -> None:
    # Smith is a surname elsewhere and JA never is: J. A. Smith.
    resolved = resolve_name_order([parse_name(raw) for raw in ["JA Smith", "J Smith", "Smith, John"]])
    assert (resolved[0].surname, resolved[0].given) == ("smith", ("j", "a"))
    # Li is a surname elsewhere: "LI Wei" keeps it, though Wei is one too.
    resolved = resolve_name_order([parse_name(raw) for raw in ["LI Wei", "Li, Xiaoming", "Wei, Jun", "Wei, Bo"]])
    assert resolved[0].surname == "li"
    # A corpus that writes surnames in capitals ("HAZIZA Daniel"): "MA Lin" is Ma, never M. A. Lin.
    resolved = resolve_name_order([parse_name(raw) for raw in ["MA Lin", "HAZIZA Daniel", "Lin, Jun"]])
    assert resolved[0].surname == "ma"


@pytest.mark.parametrize(
    ("raw", "first", "second"),
    [
        ("Wei LI", ("wei", ("l", "i")), ("li", ("wei",))),
        ("Van Thanh DO", ("van thanh", ("d", "o")), ("do", ("van", "thanh"))),
        ("Wei-Ying MA", ("wei-ying", ("m", "a")), ("ma", ("wei", "ying"))),
    ],
)
def test_a_short_east_asian_surname_in_capitals_last_has_that_reading_second(
    raw: str, first: tuple[str, tuple[str, ...]], second: tuple[str, tuple[str, ...]]
) -> None:
    parsed = parse_name(raw)
    assert parsed.second_reading == CAPITALS_LAST and not parsed.initials_last
    assert (parsed.surname, parsed.given) == first  # alone, as MEDLINE's "Gupta AK" must be read
    assert (swapped(parsed).surname, swapped(parsed).given) == second


@pytest.mark.parametrize("raw", ["Smith JA", "Gupta AK", "Wei LW", "Haziza D.", "Stenkamp DL"])
def test_initials_that_are_no_surname_mark_medlines_style(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.initials_last and not parsed.second_reading


def test_capitals_last_is_read_as_the_surname_where_the_corpus_writes_surnames_in_capitals() -> None:
    # Given names, then the surname in capitals ("Ajay K. GUPTA", "Jean DUPONT"): "Wei LI" is Li.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Wei LI", "Ajay K. GUPTA", "Jean DUPONT"]])
    assert (resolved[0].block_key, resolved[0].given) == ("li_w", ("wei",))
    # MEDLINE's surname and initials ("Gupta AK", "Haziza D"): Wei, L. I., even with Li a surname.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Wei LI", "Gupta AK", "Haziza D", "Li, Xiaoming"]])
    assert (resolved[0].block_key, resolved[0].given) == ("wei_l", ("l", "i"))
    # The style more names show decides: here MEDLINE's, two names to one.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Wei LI", "Ajay K. GUPTA", "Gupta AK", "Haziza D"]])
    assert resolved[0].block_key == "wei_l"
    # "Xiao-ming LI", a hyphenated given name in mixed case, reads as "Wei LI" does.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Xiao-ming LI", "Ajay K. GUPTA", "Jean DUPONT"]])
    assert resolved[0].block_key == "li_x"


@pytest.mark.parametrize(
    ("raw", "first", "second", "kind"),
    [
        # Three capitals that read as no syllable are MEDLINE's initials; they were the surname.
        ("Santos MFO", ("santos", ("m", "f", "o")), ("mfo", ("santos",)), CAPITALS_LAST),
        ("Smith JAB", ("smith", ("j", "a", "b")), ("jab", ("smith",)), CAPITALS_LAST),
        # One syllable of a short surname in capitals is that surname, MEDLINE's reading second.
        ("Minsoo KIM", ("kim", ("minsoo",)), ("minsoo", ("k", "i", "m")), INITIALS_LAST),
        ("Wen HSU", ("hsu", ("wen",)), ("wen", ("h", "s", "u")), INITIALS_LAST),
        ("Silva MAS", ("mas", ("silva",)), ("silva", ("m", "a", "s")), INITIALS_LAST),
    ],
)
def test_three_capitals_last_are_read_by_their_sound_and_open_to_the_other_reading(
    raw: str, first: tuple[str, tuple[str, ...]], second: tuple[str, tuple[str, ...]], kind: str
) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == first
    assert parsed.second_reading == kind and not parsed.initials_last
    assert (swapped(parsed).surname, swapped(parsed).given) == second


def test_three_capitals_last_follow_the_corpus_style() -> None:
    medline = ["Gupta AK", "Haziza D", "Silva JA"]
    capitals = ["Ajay K. GUPTA", "Jean DUPONT", "HAZIZA Daniel"]
    # In MEDLINE's style, with Silva a surname elsewhere, "Silva MAS" is M. A. S. Silva.
    assert resolve_name_order([parse_name(raw) for raw in ["Silva MAS", *medline]])[0].block_key == "silva_m"
    assert resolve_name_order([parse_name(raw) for raw in ["Silva MAS", *capitals]])[0].block_key == "mas_s"
    # "Minsoo KIM" stays Kim in either style: no firm name has the surname Minsoo.
    assert resolve_name_order([parse_name(raw) for raw in ["Minsoo KIM", *medline]])[0].block_key == "kim_m"
    # "Santos MFO" is Mfo, Santos only among capitals surnames and with no firm Santos.
    assert resolve_name_order([parse_name(raw) for raw in ["Santos MFO", *capitals]])[0].block_key == "mfo_s"
    assert resolve_name_order([parse_name(raw) for raw in ["Santos MFO", *medline]])[0].block_key == "santos_m"


def test_medline_initials_that_spell_a_surname_keep_their_surname_and_its_vote() -> None:
    # More capitals surnames than MEDLINE names, but Smith is a surname of "Smith M": "Smith MA" stays.
    raws = ["HAZIZA Daniel", "GUPTA Ajay", "Ajay K. GUPTA", "Smith MA", "Smith MA", "Smith M"]
    assert [n.block_key for n in resolve_name_order([parse_name(raw) for raw in raws])][3:] == ["smith_m"] * 3
    # "Marquez MA" still votes for Marquez: "Jose Garcia Marquez" keeps the surname Marquez.
    raws = ["Marquez MA", "Marquez MA", "Garcia-Marquez J", "Jose Garcia Marquez"]
    assert resolve_name_order([parse_name(raw) for raw in raws])[-1].block_key == "marquez_j"
    # "Smith HE" still votes for Smith: Google Scholar's "JA Smith" is J. A. Smith.
    raws = ["Smith HE", "Smith HE", "JA Smith"]
    assert resolve_name_order([parse_name(raw) for raw in raws])[-1].block_key == "smith_j"


def test_resolve_name_order_keeps_the_last_word_without_more_votes_for_two() -> None:
    # As many firm names have the last word alone as have both words: the name stays as it was.
    raws = ["Garcia Marquez J", "Márquez, Ana", "José García Márquez", "José García Márquez"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert [n.surname for n in resolved[2:]] == ["marquez", "marquez"]
    # Its own reading still votes on the word order of others: "Gupta Wei" is read as Wei Gupta.
    resolved = resolve_name_order([parse_name(raw) for raw in ["Ajay Kumar Gupta", "Gupta Wei"]])
    assert (resolved[1].surname, resolved[1].given) == ("gupta", ("wei",))


# A name ending in a given name, a particle and a devotional given name ("MARIA DEL CARMEN") may be
# written surname first; the corpus votes, as on "Wang Wei".
@pytest.mark.parametrize(
    ("raw", "surname", "given", "display"),
    [
        ("LOPEZ GARCIA MARIA DEL CARMEN", "lopez garcia", ("maria", "carmen"), "Maria del Carmen Lopez Garcia"),
        ("Lopez Garcia Maria del Carmen", "lopez garcia", ("maria", "carmen"), "Maria del Carmen Lopez Garcia"),
        ("SILVA MARIA DE FATIMA", "silva", ("maria", "fatima"), "Maria de Fatima Silva"),
        ("RODRIGUEZ JOSE DE JESUS", "rodriguez", ("jose", "jesus"), "Jose de Jesus Rodriguez"),
    ],
)
def test_a_devotional_given_name_last_opens_the_word_order_to_the_vote(
    raw: str, surname: str, given: tuple[str, ...], display: str
) -> None:
    parsed = parse_name(raw)
    assert parsed.order_ambiguous
    assert parsed.surname.startswith(("del ", "de "))  # the default reading, as before
    other = swapped(parsed)
    assert (other.surname, other.given, other.display) == (surname, given, display)


@pytest.mark.parametrize(
    "raw", ["Pedro Gomez de la Cruz", "Maria del Carmen", "MARIA DEL CARMEN LOPEZ", "Lopez Garcia, Maria del Carmen"]
)
def test_names_whose_word_order_a_devotional_given_name_leaves_alone(raw: str) -> None:
    assert not parse_name(raw).order_ambiguous


def test_resolve_name_order_reads_a_devotional_given_name_surname_first_with_the_corpus() -> None:
    raws = ["Lopez-Garcia MC", "Lopez Garcia, M.", "LOPEZ GARCIA MARIA DEL CARMEN"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert (resolved[2].surname, resolved[2].given, resolved[2].block_key) == (
        "lopez garcia",
        ("maria", "carmen"),
        "lopezgarcia_m",
    )
    # "del Carmen" is a surname here: the name keeps it.
    raws = ["del Carmen, Ana", "LOPEZ GARCIA MARIA DEL CARMEN"]
    resolved = resolve_name_order([parse_name(raw) for raw in raws])
    assert resolved[1].surname == "del carmen"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammed Ali", "Muhammad Ali"),
        ("Mohamed Hassan", "Mohammad Hassan"),
        ("Ahmed Khan", "Ahmad Khan"),
        ("Sergei Ivanov", "Sergey Ivanov"),
        ("Yuri Petrov", "Yurii Petrov"),
        ("Georgios Papadopoulos", "Giorgos Papadopoulos"),
    ],
)
def test_romanisations_of_one_given_name_are_variants(a: str, b: str) -> None:
    assert given_match(parse_name(a).given, parse_name(b).given) == GivenMatch.VARIANT


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hassan Ali", "Hussein Ali"),
        ("George Papadopoulos", "Georgios Papadopoulos"),
        ("Daniel Haziza", "David Haziza"),
    ],
)
def test_different_given_names_stay_incompatible(a: str, b: str) -> None:
    assert given_match(parse_name(a).given, parse_name(b).given) == GivenMatch.INCOMPATIBLE


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        # Titles of other fields and countries before the name.
        ("Rev. John A. Smith", "smith", ("john", "a")),
        ("Lt. Col. John A. Smith", "smith", ("john", "a")),
        ("Assoc. Prof. John A. Smith", "smith", ("john", "a")),
        ("Yrd. Doç. Dr. Ahmet Y\u0131lmaz", "yilmaz", ("ahmet",)),  # a dotless i
        ("Uzm. Dr. Ayşe Kaya", "kaya", ("ayse",)),
        ("Engr. Juan Cruz", "cruz", ("juan",)),
        ("Smt. Lakshmi Rao", "rao", ("lakshmi",)),
        ("Hon Wai Leong", "leong", ("hon", "wai")),  # without its dot, "Hon" is a given name
        ("Sri Lestari Wahyuni", "wahyuni", ("sri", "lestari")),
        # What a byline copied from a page carries beside the name.
        ("John A. Smith jsmith@uni.edu", "smith", ("john", "a")),
        ("John A. Smith https://orcid.org/0000-0002-1825-0097", "smith", ("john", "a")),
        ("John A. Smith ORCID: 0000-0002-1825-0097", "smith", ("john", "a")),
        ("J. Smith for the ATLAS Collaboration", "smith", ("j",)),
        ("Smith J, on behalf of the XYZ Study Group", "smith", ("j",)),
        ("John A. Smith a,b", "smith", ("john", "a")),  # affiliation markers in letters
        ("J. Smith c", "smith", ("j",)),
        ("John A. Smithᵃ,ᵇ", "smith", ("john", "a")),  # in superscript letters
        # Vietnamese names given names first: Van is a middle name before the family name.
        ("Anh Van Nguyen", "nguyen", ("anh", "van")),
        ("Tuan Van Do", "do", ("tuan", "van")),
        ("Jan van Nguyen", "van nguyen", ("jan",)),  # in lower case, the Dutch particle
        ("Vincent Van Gogh", "van gogh", ("vincent",)),
        # Abd ("servant of") is no name alone: the surname of MEDLINE's "Abdelaziz A".
        ("Ahmed Abd El Aziz", "abd el aziz", ("ahmed",)),
        ("Ahmed Abd El-Aziz", "abd el-aziz", ("ahmed",)),
        # A lone capital that transliterates to two letters is an initial.
        ("Jónsdóttir Þ", "jonsdottir", ("t",)),
        ("Jensen, Æ.", "jensen", ("a",)),
        # An export's null for a missing part; capitalised, Null is a surname.
        ("null DEGOY", "degoy", ()),
        ("Gary Null", "null", ("gary",)),
        # Kept: a lone letter after initials or in lower case, a conjunction, María's "Mª".
        ("Smith J a", "smith", ("j", "a")),
        ("john smith a", "john smith", ("a",)),
        ("Silva, Ana de Souza e", "silva", ("ana", "souza")),
        ("Pérez, Mª", "perez", ("ma",)),
    ],
)
def test_words_beside_a_name_that_are_not_its_surname(raw: str, surname: str, given: tuple[str, ...]) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)


@pytest.mark.parametrize("raw", ["Sukarno", "Sukarno S", "Sukarno, S.", "Sukarno Sukarno", "SUKARNO"])
def test_a_mononym_shares_the_block_its_catalogue_forms_give_it(raw: str) -> None:
    # Scopus writes Indonesian and South Indian mononyms "Sukarno, S.", Crossref "Sukarno Sukarno".
    assert parse_name(raw).block_key == "sukarno_s"


@pytest.mark.parametrize(
    ("raw", "surname", "given"),
    [
        ("Kim Min-su", "kim", ("min", "su")),
        ("Wang Xiao-Ming", "wang", ("xiao", "ming")),
        ("oh jung-yeol", "oh", ("jung", "yeol")),
        # Not a romanised family name, or no given name of two syllables: read as before.
        ("Saleh Al-shomrani", "al-shomrani", ("saleh",)),
        ("Waraporn Chau-in", "chau-in", ("waraporn",)),
        ("Lee Ann-Marie", "ann-marie", ("lee",)),
    ],
)
def test_a_romanised_family_name_before_a_hyphenated_given_name_is_the_surname(
    raw: str, surname: str, given: tuple[str, ...]
) -> None:
    # One name at a time, as a registry reads it, with no corpus to vote on the word order.
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given) == (surname, given)
    assert registry_block_key(raw) == parsed.block_key


@pytest.mark.parametrize(
    ("raw", "given"),
    [("SMITH, JA", ("j", "a")), ("ADEYEMI, OA", ("o", "a")), ("WANG, LI", ("li",)), ("KIM, NA", ("na",))],
)
def test_two_capitals_after_a_comma_in_capitals_are_initials_unless_a_short_given_name(
    raw: str, given: tuple[str, ...]
) -> None:
    assert parse_name(raw).given == given


def test_web_of_science_initials_in_capitals_fit_the_given_names_written_out() -> None:
    # Read as the word "ja", "SMITH, JA" was incompatible with John A. Smith: never one person.
    assert given_match(parse_name("SMITH, JA").given, parse_name("Smith, John A.").given) != GivenMatch.INCOMPATIBLE
