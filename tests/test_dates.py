"""Dates as feeds write them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from newsmirror.dates import UTC8, display, display_zone, http_date, month_day_utc8, parse_date

T = 1715116475000  # 2024-05-07 21:14:35 UTC


@pytest.mark.parametrize("text", [
    "Tue, 07 May 2024 17:14:35 -0400", "Tue, 07 May 2024 21:14:35 GMT", "Tue, 07 May 2024 21:14:35 +0000",
    "Tue, 07 May 2024 17:14:35 EDT", "07 May 2024 21:14:35 UT", "Wed, 08 May 2024 05:14:35 GMT+8",
    "2024-05-07T21:14:35Z", "2024-05-07T21:14:35+00:00", "2024-05-08T05:14:35+08:00", "2024-05-07T17:14:35-0400",
    "20240507T211435Z", "Tue May 07 2024 22:14:35 GMT+0100 (British Summer Time)",
])
def test_dates_with_a_zone(text):
    assert parse_date(text) == T


@pytest.mark.parametrize("text", [
    "2024-05-08 05:14:35", "2024/5/8 05:14:35", "2024年5月8日 05:14:35", "2024-05-08T05:14:35",
    "Wed, 08 May 2024 05:14:35",
])
def test_dates_without_a_zone_are_read_in_the_feed_timezone(text):
    assert parse_date(text) == T  # default Asia/Shanghai
    assert parse_date(text, "UTC") == T + 8 * 3600 * 1000


def test_not_a_date():
    assert parse_date("yesterday") is None and parse_date("") is None and parse_date("2024-13-45 99:99") is None


@pytest.mark.parametrize("text", [
    "Tue, 31 Feb 2024 21:14:35 GMT", "Tue, 07 Foo 2024 21:14:35 GMT", "Tue, 07 May 2024 25:14:35 GMT",
    "Tue, 07 May 2024 21:14:35 +9999", "07 May 2024 21:14:35 +2400",
])
def test_impossible_dates_are_no_dates_not_errors(text):
    assert parse_date(text) is None


def test_output_forms():
    assert http_date(T) == "Tue, 07 May 2024 21:14:35 GMT"
    assert month_day_utc8(T) == "5-8"


@pytest.mark.parametrize(("zone", "shown"), [
    ("Asia/Shanghai", "2024-05-08 05:14 UTC+8"), ("UTC", "2024-05-07 21:14 UTC"),
    ("Asia/Kolkata", "2024-05-08 02:44 UTC+5:30"), ("America/St_Johns", "2024-05-07 18:44 UTC-2:30"),
    ("Europe/Berlin", "2024-05-07 23:14 UTC+2"),  # summer time: the offset in force then
])
def test_a_time_for_people_is_in_the_display_zone_and_labelled_with_its_offset(zone, shown):
    assert display(T, display_zone(zone)) == shown
    assert display(T - 120 * 86400 * 1000, ZoneInfo("Europe/Berlin")).endswith(" UTC+1")  # and winter time
    assert display(T, UTC8) == "2024-05-08 05:14 UTC+8"  # any tzinfo


@pytest.mark.parametrize("name", ["Asia/Shangai", "+08:00", "CST", "", "../../etc/passwd"])
def test_the_display_zone_is_an_iana_name(name):
    with pytest.raises(ValueError, match="IANA name"):
        display_zone(name)


@pytest.mark.parametrize("text", [
    "2024-05-07T10:00:00+99:00", "2024-05-07T10:00:00+24:00", "20240507T100000+9999",
    "1 Jan 99999999999999999999 00:00:00", "Tue, 07 May 2024 17:14:35 +999999999999999999999",
])
def test_an_offset_of_a_day_or_more_or_a_huge_number_is_no_date_not_an_error(text):
    assert parse_date(text) is None


@pytest.mark.timeout(10)
def test_long_runs_of_white_space_read_like_one_space():
    assert parse_date("2024-05-08" + " " * 100_000 + "05:14:35") == T
    assert parse_date("Tue,\t07  May\n2024 21:14:35   GMT") == T
    assert parse_date("2024-05-07" + " " * 100_000 + "x") is None
