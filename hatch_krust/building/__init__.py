"""Building: a project -> its static executable and its OCI image, as values; no publishing here."""
