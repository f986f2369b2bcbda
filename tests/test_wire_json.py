"""The wire's JSON: orjson's speed, the standard library's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from townhall import wire_json
from townhall.model.errors import InvalidPayload
from townhall.payloads import decode

SAMPLES: list[Any] = [
    {"ok": True, "poll": "vote", "choices": ["a"], "version": 12345, "duplicate": False},
    ["tally", {"poll": "p", "counts": {"a": 3, "b": 0}, "voters": 3, "title": "정책 배틀"}],
    {"text": 'quotes " and \\ and\nnew lines\t, <script>, \u2028 and 🙂', "n": -1.5},
    [None, [], {}, 0, 2**63 - 1],
]


@pytest.mark.parametrize("value", SAMPLES)
def test_it_writes_and_reads_what_the_standard_library_does(value: Any) -> None:
    written = wire_json.dumps(value)
    assert json.loads(written) == json.loads(json.dumps(value))
    assert "\\u" not in written  # UTF-8 as it is, not escapes
    assert wire_json.loads(written) == value


def test_what_orjson_refuses_goes_the_standard_library_s_way() -> None:
    assert wire_json.dumps({1: "a"}) == '{"1":"a"}'  # keys that are not strings
    assert wire_json.dumps(2**70) == str(2**70)
    assert wire_json.dumps("\ud800") == json.dumps("\ud800", ensure_ascii=False)
    assert wire_json.loads('{"a":"\\ud800"}') == {"a": "\ud800"}  # a lone surrogate's escape
    assert wire_json.loads("[NaN, 1e400]")[1] == float("inf")
    assert wire_json.dumps({"a": 1}, indent=1) == '{\n "a":1\n}'  # options: the library's
    with pytest.raises(ValueError):
        wire_json.loads("{not json")


@pytest.mark.parametrize("number", [str(2**64), str(-(2**63) - 1), "1e400"])
def test_a_number_past_64_bits_is_refused_as_it_was(number: str) -> None:
    # orjson reads an integer literal past 64 bits as a float, where the standard library read
    # an exact int: every field that takes a number refuses both alike.
    packet = '{"post":' + number + ',"up":true,"op":"o1"}'
    refusals: list[str] = []
    for decoder in (wire_json.loads, json.loads):
        with pytest.raises(InvalidPayload) as refused:
            decode("upvote", decoder(packet))
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1] == "'post' must be a post id"
