"""Unit tests run in one process with no Ray: starting Ray here is a bug in the test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import ray

from tests.unit.api import Api, build_api, close_api


@pytest.fixture(autouse=True)
def disallow_ray_init(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``ray.init`` (and so Ray's auto-init on ``.remote()``) fail loudly, as Ray Serve's
    own unit tests do."""

    def raise_on_init(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Unit tests must not start Ray; use the in-memory doubles instead.")

    monkeypatch.setattr(ray, "init", raise_on_init)


@pytest.fixture(autouse=True)
def logging_as_found() -> Iterator[None]:
    """An actor shell built here configures the process's logging (``actors/logs.py``), as in
    its worker; the next test gets the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The FastAPI app on in-memory doubles (see ``tests/unit/api.py``)."""
    for name in [n for n in os.environ if n.startswith("OP_")]:
        monkeypatch.delenv(name)
    subject = build_api()
    yield subject
    close_api(subject)
