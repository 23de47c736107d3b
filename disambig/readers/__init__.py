"""Readers turn input files into validated mentions, naming the file and line of any bad record."""

from disambig.readers.common import Entry, Problem
from disambig.readers.entries import FORMATS, detect_format, iter_entries
from disambig.readers.jsonl import open_text, read_labelled, read_labelled_pairs, read_mentions

__all__ = [
    "FORMATS",
    "Entry",
    "Problem",
    "detect_format",
    "iter_entries",
    "open_text",
    "read_labelled",
    "read_labelled_pairs",
    "read_mentions",
]
