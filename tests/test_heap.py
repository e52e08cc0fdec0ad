"""``daily_dialin.heap.bulk_work``: fewer young collections in the block, the thresholds as they were
after it, also when the block fails; a higher threshold set by someone else is kept. Real ``gc``."""

from __future__ import annotations

import gc

import pytest

from daily_dialin.heap import YOUNG_THRESHOLD, bulk_work


def test_the_young_threshold_is_raised_in_the_block_and_restored_after_it():
    before = gc.get_threshold()
    with bulk_work():
        assert gc.get_threshold() == (max(before[0], YOUNG_THRESHOLD), *before[1:])
        made = [[] for _ in range(10)]
    assert gc.get_threshold() == before and len(made) == 10


def test_an_error_in_the_block_restores_the_thresholds():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="chunk ended"), bulk_work():
        raise RuntimeError("chunk ended")
    assert gc.get_threshold() == before


def test_a_higher_threshold_set_by_someone_else_is_kept():
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD * 2, *before[1:])
    try:
        with bulk_work():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    finally:
        gc.set_threshold(*before)
