"""The pacer's rules on a fake clock: no wall-clock, no sleeps, exact numbers.

The socket-level tests (tests/core/test_http.py, tests/reliability/) show the pacer keeps real
runs under real limits; these pin each rule down deterministically.
"""

from __future__ import annotations

import pytest

from airflow_provider_pagemeta.core.pacing import (
    LATENCY_ALLOWANCE,
    RESERVE_SLOTS,
    SPREAD_MARGIN,
    RateLimitPacer,
    shared_pacer,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def headers(limit: int, remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}


def test_no_headers_no_waiting():
    pacer = RateLimitPacer(60, clock=FakeClock())
    assert [pacer.reserve() for _ in range(100)] == [0.0] * 100


def test_remaining_zero_waits_until_our_oldest_request_leaves_the_window():
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    assert pacer.reserve() == 0.0  # sent at t=1000
    clock.now += 10
    pacer.observe(headers(60, 0))
    wait = pacer.reserve()
    assert wait == pytest.approx(1000 + 60 * 1.01 + LATENCY_ALLOWANCE - clock.now)


def test_remaining_zero_with_nothing_of_ours_in_the_window_waits_a_full_window():
    clock = FakeClock()
    pacer = RateLimitPacer(6, clock=clock)
    pacer.observe(headers(60, 0))  # another client spent the budget
    assert pacer.reserve() == pytest.approx(6 * 1.01 + LATENCY_ALLOWANCE)


def test_spread_mode_spaces_requests_evenly_at_the_limit():
    """A lone client: after its i-th request the server says ``Remaining: limit - i``."""
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    waits = []
    for sent in range(1, 7):
        waits.append(pacer.reserve())
        pacer.observe(headers(60, 60 - sent))
    interval = 60 / 60 * SPREAD_MARGIN
    # The first request learns the limit; from the second on, one every `interval` seconds.
    assert waits == pytest.approx([0.0, 0.0, interval, 2 * interval, 3 * interval, 4 * interval])


def test_spread_mode_shares_the_window_with_another_process():
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    pacer.reserve()
    pacer.observe(headers(60, 29))  # 31 used in the window, 1 of them ours: 30 belong to someone else
    assert pacer.reserve() == 0.0
    base = 60 / 60 * SPREAD_MARGIN
    # Half the window is someone else's: our interval doubles, so together we stay at the limit.
    assert pacer.reserve() == pytest.approx(base * 60 / (60 - 30))


def test_spread_mode_keeps_reserve_slots_for_the_others_in_flight():
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    pacer.reserve()
    pacer.observe(headers(60, RESERVE_SLOTS))  # others use the token too, and only the reserve is left
    wait = pacer.reserve()
    assert wait >= 60  # our own slot must free first: the reserve stays for the others


@pytest.mark.parametrize("bad", ["inf", "1e999", "NaN", "-5", "٣", "12.5", "", "99999999999"])
def test_unusable_headers_are_ignored(bad):
    pacer = RateLimitPacer(60, clock=FakeClock())
    pacer.observe({"X-RateLimit-Limit": bad, "X-RateLimit-Remaining": bad})
    assert (pacer.limit, pacer.remaining) == (None, None)
    assert pacer.reserve() == 0.0


def test_one_pacer_per_token_and_base_url():
    a = shared_pacer("https://api.webflow.com", "token-a", 60)
    assert shared_pacer("https://api.webflow.com", "token-a", 60) is a
    assert shared_pacer("https://api.webflow.com", "token-b", 60) is not a
    assert shared_pacer("http://127.0.0.1:1/webflow", "token-a", 60) is not a
