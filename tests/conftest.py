"""Suite-wide settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    # On a 2-core machine, OpenMP threads competing with another process make a scikit-learn fit
    # many times slower; tests fit small models, so one thread each is both faster and steadier.
    with threadpool_limits(1):
        yield


def shared_data_dir() -> Path:
    """The labelled data: $DISAMBIG_SHARED_DATA, else ../shared/data beside the checkout."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("DISAMBIG_SHARED_DATA", default))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    directory = shared_data_dir()
    if not (directory / "README.md").is_file():
        pytest.skip(f"labelled data not found at {directory}: set DISAMBIG_SHARED_DATA (.ci/run does)")
    return directory
