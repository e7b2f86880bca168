"""A minimal iCalendar (RFC 5545) writer for the bookings feed: one VCALENDAR with the
Europe/Paris VTIMEZONE and a VEVENT per booking. Written by hand (a few dozen lines) rather than
with a dependency: text values escaped (§3.3.11), lines folded at 75 octets without splitting a
UTF-8 character (§3.1), CRLF line ends."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

CRLF = "\r\n"
TZID = "Europe/Paris"
MAX_OCTETS = 75
# Control characters other than TAB are not allowed in a text value; a line break is escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# The rules of Europe/Paris since 1996 (last Sunday of March 02:00 → CEST, last Sunday of
# October 03:00 → CET): what calendar apps need to read TZID=Europe/Paris times.
VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    f"TZID:{TZID}",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime  # wall time in Europe/Paris (naive, or aware in Europe/Paris)
    end: datetime
    summary: str
    status: str = "CONFIRMED"  # CONFIRMED or TENTATIVE
    description: str = ""
    url: str = ""


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, line breaks as \\n."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """`line` cut into lines of at most 75 octets (continuations start with a space, which
    counts), never inside a UTF-8 character; joined by CRLF."""
    parts = []
    current, size, limit = [], 0, MAX_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1
        current.append(char)
        size += octets
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def _local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(*, name: str, events: Iterable[Event], stamp: datetime) -> str:
    """The whole VCALENDAR as text with CRLF line ends. `stamp` (aware) is the DTSTAMP of every
    event: when the feed was generated."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Parvis//Agenda des reservations//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{TZID}",
        *VTIMEZONE,
    ]
    dtstamp = _utc(stamp)
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(event.uid)}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;TZID={TZID}:{_local(event.start)}",
            f"DTEND;TZID={TZID}:{_local(event.end)}",
            f"SUMMARY:{escape_text(event.summary)}",
            f"STATUS:{event.status}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.url:
            lines.append(f"URL:{event.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
