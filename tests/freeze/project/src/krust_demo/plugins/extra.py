"""Found by importlib.import_module, which PyInstaller's analysis cannot see."""

NAME = "extra-plugin"
