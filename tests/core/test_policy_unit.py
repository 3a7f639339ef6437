"""The pure rules of the core, deterministically: retry waits, the converter, redaction, bounds."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from airflow_provider_pagemeta import NOTSET, is_notset
from airflow_provider_pagemeta.core.convert import to_bool, to_duration, to_file_ids, to_id, to_int, to_rows
from airflow_provider_pagemeta.core.errors import MESSAGE_CHARS, bounded, describe_wait, error_from_response
from airflow_provider_pagemeta.core.redaction import MASK, Redactor
from airflow_provider_pagemeta.core.retry import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    backoff_seconds,
    is_retryable,
    outcome_unknown,
    parse_retry_after,
    wait_seconds,
    waits_too_long,
)
from airflow_provider_pagemeta.exceptions import (
    CMSConnectionError,
    CMSInvalidResponseError,
    CMSRateLimitError,
    CMSServerError,
    CMSValidationError,
)
from airflow_provider_pagemeta.payloads import json_equal

NOW = 1_900_000_000.0


# ---------------------------------------------------------------------- Retry-After and backoff
@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), ("259200", 259200.0),
    ("", None), ("soon", None), ("inf", None), ("nan", None), ("٣", None), (None, None),
])
def test_retry_after_seconds(header, seconds):
    assert parse_retry_after(header, now=lambda: NOW) == seconds


def test_retry_after_http_date_is_relative_to_now():
    when = datetime.fromtimestamp(NOW, timezone.utc) + timedelta(seconds=30)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=lambda: NOW) == pytest.approx(30)
    past = datetime.fromtimestamp(NOW, timezone.utc) - timedelta(hours=1)
    assert parse_retry_after(format_datetime(past, usegmt=True), now=lambda: NOW) == 0.0


@pytest.mark.parametrize("attempt", range(1, 10))
def test_backoff_has_equal_jitter_within_bounds(attempt):
    step = min(BACKOFF_CAP, 2.0 ** (attempt - 1))
    assert backoff_seconds(attempt, rng=lambda: 0.0) == step / 2
    assert backoff_seconds(attempt, rng=lambda: 1.0) == step
    assert step / 2 <= backoff_seconds(attempt) <= step


def err(status: int, retry_after: float | None = None) -> CMSRateLimitError:
    return CMSRateLimitError("x", status_code=status, retry_after=retry_after)


def test_wait_honours_retry_after_up_to_the_cap():
    assert wait_seconds(err(429, 7.0), 1) == 7.0
    assert wait_seconds(err(429, RETRY_AFTER_CAP), 1) == RETRY_AFTER_CAP
    assert wait_seconds(err(503), 3, rng=lambda: 0.0) == 2.0  # no Retry-After: backoff


def test_a_wait_past_the_cap_is_not_retried_at_all():
    assert is_retryable(err(429, RETRY_AFTER_CAP)) is True
    assert is_retryable(err(429, RETRY_AFTER_CAP + 1)) is False
    assert waits_too_long(err(429, 3 * 86400)) is True


@pytest.mark.parametrize(("exc", "retryable", "unknown"), [
    (CMSConnectionError("timeout"), True, True),
    (CMSConnectionError("refused", request_sent=False), True, False),
    (CMSServerError("boom", status_code=502), True, True),
    (CMSInvalidResponseError("garbled", status_code=200), True, True),
    (CMSRateLimitError("slow down", status_code=429), True, False),
    (CMSValidationError("bad", status_code=400), False, False),
    (ValueError("not ours"), False, False),
])
def test_what_is_retried_and_what_leaves_a_write_unknown(exc, retryable, unknown):
    assert is_retryable(exc) is retryable
    assert outcome_unknown(exc) is unknown


# ---------------------------------------------------------------------- the one converter
@pytest.mark.parametrize(("value", "expected"), [(True, True), ("FALSE", False), (" true ", True)])
def test_to_bool_accepts_bools_and_rendered_strings(value, expected):
    assert to_bool(value, "flag") is expected


@pytest.mark.parametrize("value", [1, 0, "yes", "1", None, "tru"])
def test_to_bool_refuses_guesses(value):
    with pytest.raises(CMSValidationError) as info:
        to_bool(value, "dry_run")
    assert info.value.argument == "dry_run"


@pytest.mark.parametrize(("value", "expected"), [(3, 3), ("42", 42), (" 7 ", 7), (0, 0)])
def test_to_int_accepts_ints_and_ascii_digit_strings(value, expected):
    assert to_int(value, "n") == expected


@pytest.mark.parametrize("value", ["٣", "²", "3.0", 3.0, True, "-1", "1e3", "", None, "0x10"])
def test_to_int_refuses_everything_else(value):
    with pytest.raises(CMSValidationError) as info:
        to_int(value, "max_failures")
    assert info.value.argument == "max_failures"


def test_to_int_bounds_and_ids():
    with pytest.raises(CMSValidationError, match="<= 50"):
        to_int(51, "max_retries", maximum=50)
    with pytest.raises(CMSValidationError, match=">= 1"):
        to_id(0, "page_id")
    assert to_file_ids({"hero": "7", "og": 9}, "files") == {"hero": 7, "og": 9}
    with pytest.raises(CMSValidationError) as info:
        to_file_ids({"og_image": "٣"}, "files")
    assert info.value.argument == "files['og_image']"


@pytest.mark.parametrize(("value", "expected"), [(2, 2.0), (0.5, 0.5), ("30", 30.0), (".5", 0.5), ("1.", 1.0)])
def test_to_duration_accepts_finite_positive_numbers(value, expected):
    assert to_duration(value, "timeout") == expected


@pytest.mark.parametrize("value", [0, -1, "nan", "inf", float("nan"), math.inf, "٣", "1e3", True, None, "2s"])
def test_to_duration_refuses_the_rest(value):
    with pytest.raises(CMSValidationError) as info:
        to_duration(value, "timeout")
    assert info.value.argument == "timeout"


def test_to_rows_reads_json_and_refuses_python_literals():
    assert to_rows('[{"page_id": "x"}]') == [{"page_id": "x"}]
    assert to_rows(({"a": 1},)) == [{"a": 1}]
    with pytest.raises(CMSValidationError, match="tojson"):
        to_rows("[{'page_id': 'x', 'draft': True}]")
    with pytest.raises(CMSValidationError, match="list of dicts"):
        to_rows({"page_id": "x"})


# ---------------------------------------------------------------------- redaction and bounds
TOKEN = "tok_3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0"


@pytest.mark.parametrize("text", [
    f"bad token {TOKEN}", f"cut {TOKEN[:20]}", f"tail {TOKEN[-9:]}!", f"{TOKEN[5:13]} in the middle",
])
def test_redaction_masks_the_token_and_any_piece_of_eight(text):
    masked = Redactor([TOKEN]).text(text)
    assert MASK in masked
    for start in range(len(TOKEN) - 7):
        assert TOKEN[start:start + 8] not in masked


def test_redaction_leaves_short_pieces_and_other_text_alone():
    assert Redactor([TOKEN]).text(f"only {TOKEN[:7]} here") == f"only {TOKEN[:7]} here"
    assert Redactor([TOKEN]).text("nothing secret") == "nothing secret"


def test_bounded_marks_the_cut_and_keeps_the_limit():
    text = "y" * 10_000
    cut = bounded(text)
    assert len(cut) <= MESSAGE_CHARS and "10000 characters" in cut
    assert bounded("short") == "short"


def test_an_error_body_is_redacted_before_it_is_cut():
    body = '{"message": "' + "x" * (MESSAGE_CHARS - 10) + TOKEN + '"}'
    exc = error_from_response(cms="webflow", call="get_page", method="GET", url="https://h/v2/pages/1",
                              status=400, text=body, retry_after=None, redactor=Redactor([TOKEN]))
    for start in range(len(TOKEN) - 7):
        assert TOKEN[start:start + 8] not in str(exc)


def test_a_long_wait_is_described_for_people():
    assert describe_wait(3 * 86400) == "3 days 0 h (259200 s)"
    assert describe_wait(90) == "2 min (90 s)"


# ---------------------------------------------------------------------- NOTSET and JSON equality
def test_notset_is_the_providers_own_and_recognises_airflows():
    assert is_notset(NOTSET) and not is_notset(None) and not NOTSET

    class ArgNotSet:  # what Airflow's own sentinel looks like, without importing its private module
        pass

    ArgNotSet.__module__ = "airflow.sdk.definitions._internal.types"
    assert is_notset(ArgNotSet())


@pytest.mark.parametrize(("a", "b", "equal"), [
    (True, 1, False), (1, 1.0, True), ([1, True], [1, True], True), ({"a": 1}, {"a": 1, "b": 2}, False),
    (None, None, True), ("1", 1, False), ([1], (1,), True),
])
def test_json_equality(a, b, equal):
    assert json_equal(a, b) is equal
