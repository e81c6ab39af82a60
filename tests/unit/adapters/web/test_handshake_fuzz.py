"""A short fuzz of the HTTP/WebSocket handshake path: answered or closed, never a traceback.

The long run (100,000+ inputs) is scripts/fuzz_web_handshake.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.adapters.web.handshake_fuzz import LIMITS, Harness, frames, requests


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    variant=st.sampled_from(sorted(LIMITS)),
    request=requests(),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
    after=frames(),
)
def test_every_connection_is_answered_or_closed_without_a_traceback(
    harness: Harness, variant: str, request: bytes, cuts: list[int], after: bytes
) -> None:
    harness.exercise(variant, request, cuts, after)
