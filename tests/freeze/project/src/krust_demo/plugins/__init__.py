"""Only imported by name at run time: PyInstaller must collect it as a submodule."""
