"""A progress bar with mentions/s on a terminal; silent when stderr is not a TTY (logs, CI)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(description: str, total: int | None = None) -> tqdm[Any]:
    return tqdm(
        total=total,
        desc=description,
        unit=" mentions",
        unit_scale=True,
        disable=not sys.stderr.isatty(),
        file=sys.stderr,
        dynamic_ncols=True,
    )
