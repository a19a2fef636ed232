"""A small HTTP service shipped as a layered OCI image by hatch-krust."""
