"""hello: the hatch-krust example CLI."""
