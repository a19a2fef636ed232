"""A small HTTP service frozen into a static executable by hatch-krust."""
