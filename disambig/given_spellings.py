"""Given names that one person's records spell in several romanisations: Arabic, Persian, Turkish
and Malay names ("Mohammed", "Muhammad", "Mohamed"), Russian and Ukrainian ones ("Sergei",
"Sergey"), Greek ones ("Georgios", "Giorgos"). A nickname table knows none of them, and they are
too far apart for a one-letter typo rule, so without this table the given-name rule declared them
two people. Only spellings that share their first letter are listed: the others fall in different
name blocks anyway.
"""

from __future__ import annotations

from functools import lru_cache

# One line per name: its spellings, folded (lower case, no diacritics), as catalogues write them.
_SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("muhammad", "mohammed", "mohammad", "mohamed", "mohamad", "muhammed", "muhamad", "mohammod", "mohd", "muhd"),
    ("ahmad", "ahmed", "ahmet", "achmad"),
    ("mahmoud", "mahmood", "mahmud", "mahmut"),
    ("hussein", "husain", "hussain", "hossein", "husein", "huseyin", "hosein"),
    ("hassan", "hasan"),
    ("yusuf", "yousef", "youssef", "yousuf", "yousif", "yusef"),
    ("omar", "omer"),
    ("osman", "othman"),
    ("usman", "uthman"),
    ("mustafa", "mostafa", "moustafa", "mustapha"),
    ("ibrahim", "ibraheem"),
    ("khalid", "khaled"),
    ("walid", "waleed"),
    ("saeed", "said", "saied", "saeid"),
    ("seyed", "seyyed", "sayed", "sayyed", "syed", "sayyid", "seyyid"),
    ("rashid", "rasheed", "rachid"),
    ("hamid", "hameed"),
    ("majid", "majeed"),
    ("mehdi", "mahdi"),
    ("mohsen", "muhsin"),
    ("abdullah", "abdallah", "abdulla"),
    ("abdulrahman", "abdelrahman", "abdurrahman", "abdalrahman", "abdolrahman"),
    ("abdelaziz", "abdulaziz", "abdelazeez"),
    ("sergei", "sergey", "serguei", "sergii", "serhii", "serhiy", "sergiy"),
    ("dmitri", "dmitry", "dmitrii", "dmytro", "dimitri", "dmitriy"),
    ("andrei", "andrey", "andrii", "andriy"),
    ("alexei", "alexey", "aleksei", "aleksey"),
    ("aleksandr", "alexander", "aleksander", "alexandr", "aleksandar"),
    ("nikolai", "nikolay"),
    ("yuri", "yury", "yurii", "yuriy"),
    ("evgeny", "evgenii", "evgeniy", "evgenij"),
    ("vitaly", "vitalii", "vitaliy"),
    ("valery", "valerii", "valeriy"),
    ("anatoly", "anatolii", "anatoliy"),
    ("grigory", "grigorii", "grigoriy"),
    ("maxim", "maksim", "maksym"),
    ("tatiana", "tatyana", "tetiana"),
    ("natalia", "natalya", "nataliya"),
    ("ilya", "ilia", "illia"),
    ("fedor", "fyodor", "fiodor"),
    ("georgios", "giorgos", "georgiy", "georgii"),  # not George: an English name one may choose
    ("konstantinos", "konstantin", "kostas"),
    ("dimitrios", "dimitris", "demetrios"),
    ("nikolaos", "nikos"),
    ("panagiotis", "panayiotis", "panos"),
    ("vasileios", "vasilis", "vassilis", "vasilios"),
)


@lru_cache(maxsize=1)
def _classes() -> dict[str, int]:
    classes: dict[str, int] = {}
    for k, spellings in enumerate(_SPELLINGS):
        for spelling in spellings:
            classes[spelling] = k
    return classes


def spelled_alike(a: str, b: str) -> bool:
    """Whether two folded given names are spellings of one name ("mohammed", "muhamad")."""
    classes = _classes()
    found = classes.get(a)
    return found is not None and found == classes.get(b)
