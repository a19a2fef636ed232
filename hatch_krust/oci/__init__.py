"""The OCI image model: references, digests, descriptors, layers, images, layouts.

Nothing in this package touches the network; `hatch_krust.registry` moves what it builds.
"""
