"""What a consumer does once at startup (huey's startup hooks, run by `run_huey` in each worker)."""

from __future__ import annotations

import gc

from huey.contrib.djhuey import HUEY

from ledgerlink.sync import tasks


def test_a_consumer_freezes_what_its_startup_left_alive_out_of_the_collectors_sight():
    assert HUEY._startup["freeze_startup_objects"] is tasks.freeze_startup_objects
    alive = object.__new__(type("Alive", (), {}))  # a tracked object made before the hook runs
    assert gc.is_tracked(alive)
    frozen_before = gc.get_freeze_count()
    try:
        tasks.freeze_startup_objects()
        assert gc.get_freeze_count() > frozen_before
        assert not any(o is alive for o in gc.get_objects())  # no generation holds it any more
    finally:
        gc.unfreeze()
    assert any(o is alive for o in gc.get_objects())
