"""disambig: author-name mentions in, stable person identities out.

The core (names, features, model, clustering) is plain Python; the CLI, the gRPC service and the
batch engines are adapters around `Engine`.
"""

from disambig.engine import Assignment, Engine
from disambig.errors import DisambigError, InputFileError, InvalidMentionError, ModelError
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model

__all__ = [
    "Assignment",
    "DisambigError",
    "Engine",
    "InputFileError",
    "InvalidMentionError",
    "Mention",
    "ModelError",
    "PairwiseModel",
    "load_model",
]
