"""Building: a project -> its OCI image, staged, as a value (`built.BuiltImage`).

No publishing here: this package imports neither `hatch_krust.publish` nor the flow
(`hatch_krust.flow` joins the two). The repository the image is for is one of its plain
inputs, though: it names the image inside the archive (for `docker load`) and in the
SBOM and provenance; whether and how the image is published it never learns.
"""
