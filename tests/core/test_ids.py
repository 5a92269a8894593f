"""Our ULID text is the library's: same encoding, same time prefix, same order."""

import random
import re
import time

from ulid import ULID

from riskops.core.ids import ULID_PATTERN, encode_ulid, new_id


def test_encoding_matches_the_ulid_library() -> None:
    rng = random.Random(5)
    values = [0, 1, 2**80 - 1, 2**80, 2**128 - 1, *(rng.getrandbits(128) for _ in range(2000))]
    for value in values:
        assert encode_ulid(value) == str(ULID.from_int(value)), hex(value)


def test_new_ids_carry_the_current_millisecond_and_fresh_randomness() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert all(re.fullmatch(ULID_PATTERN, value) for value in ids)
    stamps = [ULID.from_str(value).milliseconds for value in ids]
    assert before <= min(stamps) and max(stamps) <= after
    assert len(set(ids)) == len(ids)


def test_ids_made_a_millisecond_apart_sort_in_creation_order() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first
