"""``daily_dialin.heap.bulk_work``: the heap frozen for the block's bulk work and given back after it,
also when the block fails; a heap someone else froze is left to its owner. Real ``gc``, no mocks."""

from __future__ import annotations

import gc

import pytest

from daily_dialin.heap import bulk_work


def test_the_heap_is_frozen_in_the_block_and_given_back_after_it():
    assert gc.get_freeze_count() == 0
    with bulk_work():
        assert gc.get_freeze_count() > 0
        made = [object() for _ in range(10)]
    assert gc.get_freeze_count() == 0 and len(made) == 10


def test_an_error_in_the_block_gives_the_heap_back():
    with pytest.raises(RuntimeError, match="chunk ended"), bulk_work():
        raise RuntimeError("chunk ended")
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_someone_else_is_left_to_them():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with bulk_work():
            pass
        assert gc.get_freeze_count() == frozen  # not unfrozen by the block
    finally:
        gc.unfreeze()
