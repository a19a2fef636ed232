"""Repository-wide rules, checked over all of `hatch_krust/` and `docs/` rather than one
package: the import layering, the function length limit, the one error tree, and the
documentation (config reference, site build)."""
