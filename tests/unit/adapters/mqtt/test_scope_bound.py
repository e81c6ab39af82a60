"""adapters.mqtt.scope_bound: the least recently active idle device scope is closed first."""

from __future__ import annotations

from adapters.mqtt.scope_bound import ScopeBound


def never_busy(key: object) -> bool:
    return False


def test_within_the_limit_nothing_is_closed() -> None:
    bound = ScopeBound(2)
    assert bound.opened("a", never_busy) is None
    assert bound.opened("b", never_busy) is None
    assert len(bound) == 2


def test_the_least_recently_active_scope_goes_first() -> None:
    bound = ScopeBound(2)
    bound.opened("a", never_busy)
    bound.opened("b", never_busy)
    bound.touched("a")  # a message for a: b is now the oldest
    assert bound.opened("c", never_busy) == "b"
    assert bound.opened("d", never_busy) == "a"
    assert len(bound) == 2


def test_a_scope_with_messages_waiting_is_skipped() -> None:
    bound = ScopeBound(2)
    bound.opened("a", never_busy)
    bound.opened("b", never_busy)
    assert bound.opened("c", lambda key: key == "a") == "b"
    # every other scope busy: over the bound until one is idle, nothing closed
    assert bound.opened("d", lambda key: True) is None
    assert len(bound) == 3


def test_closed_scopes_free_their_place_and_none_means_no_bound() -> None:
    bound = ScopeBound(1)
    bound.opened("a", never_busy)
    bound.closed("a")
    assert bound.opened("b", never_busy) is None
    unbounded = ScopeBound(None)
    for key in range(1000):
        assert unbounded.opened(key, never_busy) is None
