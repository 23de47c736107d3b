"""Readers turn input files into validated mentions, naming the file and line of any bad record."""

from disambig.readers.jsonl import open_text, read_labelled, read_labelled_pairs, read_mentions

__all__ = ["open_text", "read_labelled", "read_labelled_pairs", "read_mentions"]
