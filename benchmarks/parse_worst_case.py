"""The slowest names to parse: `parse_name` on long strings made of one short unit repeated.

A name read from a file has no length limit, so a pattern that backtracks over the whole name from
every position (quadratic) turns one bad line into minutes. This prints the slowest inputs of a
seeded sweep and fails (exit 1) when one exceeds --limit seconds; run it after changing
disambig/names.py:

    python benchmarks/parse_worst_case.py                 # 400 inputs of 2,000 and 10,000 characters
    python benchmarks/parse_worst_case.py --seed 2 --inputs 1000
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time

from disambig.names import parse_name

ALPHABET = string.ascii_letters + " .,-'@/:()&;\\{}*\"[]1234" + "ÉéÞßªºᵃ"
# Inputs found slow before (each was quadratic or worse): runs of commas before "et al", "for the"
# without a group word, superscript markers, particles between words, tokens with '@' or '/'.
KNOWN = (",", "y)jG ", " for the x", ",ᵃ ", "a/", "a" * 50 + "@")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inputs", type=int, default=400)
    parser.add_argument("--limit", type=float, default=1.0, help="Seconds one parse may take.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    units = list(KNOWN) + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5))) for _ in range(args.inputs)]
    timings = []
    for unit in units:
        for length in (2_000, 10_000):
            text = unit * (length // len(unit))
            start = time.perf_counter()
            parse_name(text)
            timings.append((time.perf_counter() - start, len(text), unit))
    timings.sort(reverse=True)
    print(f"{len(timings)} parses; slowest:")
    for seconds, length, unit in timings[:8]:
        print(f"  {seconds:8.3f} s  {length:6d} chars  {unit!r} repeated")
    return 1 if timings[0][0] > args.limit else 0


if __name__ == "__main__":
    sys.exit(main())
