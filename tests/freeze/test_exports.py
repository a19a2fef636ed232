from __future__ import annotations

import hatch_krust.freeze as freeze_package


def test_all_is_sorted_and_complete() -> None:
    names = freeze_package.__all__
    assert names == sorted(names)
    assert all(hasattr(freeze_package, name) for name in names)
    assert {"freeze", "FREEZER_PINS", "FreezeRequest", "FreezeResult", "Freezer"} <= set(names)
