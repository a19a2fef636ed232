"""Several builds of the same layer at once (issue 21 item 8): each publishes its cache
entry atomically and none removes another's, so every builder gets a layer it can read.

Real processes on one cache directory, released together by a barrier for each key."""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

from hatch_krust.layered import LayerPlan, build_layer
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.layer import bytes_entry

WORKERS = 6
ROUNDS = 12


def _plan(round_: int) -> LayerPlan:
    entries = tuple(bytes_entry(f"/app/f{i}", bytes([i % 251]) * 20_000)
                    for i in range(30))
    return LayerPlan(f"layer-{round_}", entries)


def _builder(cache: str, barrier: object, errors: object) -> None:
    for round_ in range(ROUNDS):
        barrier.wait()  # type: ignore[attr-defined]
        try:
            built = build_layer(_plan(round_), Path(cache))
            assert sha256_file(built.layer.path) == built.layer.digest
            assert built.layer.path.stat().st_size == built.layer.size
        except BaseException:  # reported to the parent, which fails the test
            errors.put(traceback.format_exc(limit=3))  # type: ignore[attr-defined]


def test_concurrent_builders_of_one_layer_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WORKERS)
    errors = context.Queue()
    workers = [context.Process(target=_builder, args=(str(tmp_path), barrier, errors))
               for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert all(w.exitcode == 0 for w in workers)
    assert failures == [], f"{len(failures)} of {WORKERS * ROUNDS} builds failed:\n{failures[0]}"
    keys = {_plan(r).key(0) for r in range(ROUNDS)}
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == keys
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".krust-build-")]


def test_a_damaged_entry_is_replaced(tmp_path: Path) -> None:
    plan = _plan(0)
    first = build_layer(plan, tmp_path)
    first.layer.path.write_bytes(b"damaged")
    again = build_layer(plan, tmp_path)
    assert not again.cached
    assert sha256_file(again.layer.path) == again.layer.digest == first.layer.digest
