"""Suite-wide settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    # On a 2-core machine, OpenMP threads competing with another process make a scikit-learn fit
    # many times slower; tests fit small models, so one thread each is both faster and steadier.
    with threadpool_limits(1):
        yield
