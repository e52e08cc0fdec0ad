"""The steps of a provisioning run, as plain functions the DAG's tasks call, top to bottom - one
module per stage, re-exported here so ``dags/``, tests and benchmarks keep calling ``steps.X``.

``plan``              :mod:`.planning` - resolve the run's window, select the due meetings and series,
                      report the rows no run can select; cut the work into chunks of one kind each
                      (:class:`~.chunk.ChunkBounds`), O(1) XCom per chunk (:func:`publish_plan`).
``provision_chunk``   :mod:`.chunk` - per chunk: its room groups (a one-off meeting: one row; a
                      series: n rows on one room) through the one pipeline of :mod:`.groups`: plan
                      the spec -> ensure the room -> record -> write back -> one :class:`ChunkResult`.
``plan_cancelled``    :mod:`.retiring` - the rooms of cancelled meetings (and of one-offs joining a
                      series) as a deletion plan for the gate on mass deletion (:mod:`.deletions`).
``retire_cancelled``  :mod:`.retiring` - delete those rooms when the gate's verdict is ``auto``.
``summarize``         :mod:`.summary` - add everything up, also when tasks failed; name the meetings
                      about to start, or started, without a room.
``verify``            :mod:`.summary` - fail the run if any meeting is left without a room.

A step stopped part-way raises :class:`~daily_dialin.interrupted.Interrupted` with its partial
result (``ChunkInterrupted`` and ``RetireInterrupted`` are its old names, kept for callers).
At the DAG boundary every function takes and returns JSON dicts (``model.to_xcom()``); inside, the
hand-overs are the models of :mod:`.handover`.

May import: the stage modules of ``daily_dialin.provisioning`` (and ``daily_dialin.interrupted``).
"""

from __future__ import annotations

from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.chunk import ChunkBounds, chunk_inputs, chunk_key, chunk_task, provision_chunk, run_chunk
from daily_dialin.provisioning.handover import LISTED, OUTCOMES, ChunkResult, RetireResult, RunPlan, Summary
from daily_dialin.provisioning.planning import DRY_RUN_LISTED, chunk_numbers, plan, publish_plan
from daily_dialin.provisioning.retiring import plan_cancelled, retire, retire_approved, retire_cancelled
from daily_dialin.provisioning.summary import summarize, verify

ChunkInterrupted = Interrupted  # the old names of the one protocol
RetireInterrupted = Interrupted

__all__ = [
    "DRY_RUN_LISTED",
    "LISTED",
    "OUTCOMES",
    "ChunkBounds",
    "ChunkInterrupted",
    "ChunkResult",
    "Interrupted",
    "RetireInterrupted",
    "RetireResult",
    "RunPlan",
    "Summary",
    "chunk_inputs",
    "chunk_key",
    "chunk_numbers",
    "chunk_task",
    "plan",
    "plan_cancelled",
    "provision_chunk",
    "publish_plan",
    "retire",
    "retire_approved",
    "retire_cancelled",
    "run_chunk",
    "summarize",
    "verify",
]
