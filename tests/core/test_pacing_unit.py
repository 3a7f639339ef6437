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
    # Half the window is someone else's, and a tenth is left free for requests nobody can see
    # coming: our interval stretches so that together we stay at the limit less that headroom.
    assert pacer.reserve() == pytest.approx(base * 60 / (60 - 30 - 6))


def test_one_request_of_someone_else_is_noise_not_a_neighbour():
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    pacer.reserve()
    pacer.observe(headers(60, 58))  # 2 used, 1 of them ours
    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(60 / 60 * SPREAD_MARGIN * 60 / 59)  # no headroom kept


@pytest.mark.parametrize(("limit", "headroom"), [(60, 6), (20, RESERVE_SLOTS), (1000, 100)])
def test_spread_mode_leaves_the_headroom_of_a_shared_budget_unused(limit, headroom):
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    pacer.reserve()
    pacer.observe(headers(limit, headroom + 1))  # others use the token too; one slot above the headroom
    assert pacer.reserve() == 0.0
    pacer.observe(headers(limit, headroom))  # only the headroom is left
    wait = pacer.reserve()
    assert wait >= 60  # our own slot must free first: the headroom stays for the others


def test_a_lone_process_still_spends_the_whole_budget():
    clock = FakeClock()
    pacer = RateLimitPacer(60, clock=clock)
    pacer.spread = True
    for sent in range(1, 60):  # 59 requests, each answered with what is left: every used slot is ours
        clock.now += pacer.reserve()
        pacer.observe(headers(60, 60 - sent))
    # The last slot is spent too, at the even pace, with no headroom kept: nobody else is there.
    assert pacer.reserve() == pytest.approx(60 / 60 * SPREAD_MARGIN)


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
