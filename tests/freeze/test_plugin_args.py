"""Which PyInstaller arguments bundle the dependencies' plugins."""

from __future__ import annotations

from hatch_krust.freeze.plugins import Plugin, plugin_args


def test_entry_point_modules_are_hidden_imports_with_data_and_metadata() -> None:
    plugins = [
        Plugin("virtualenv", "virtualenv.discovery", "virtualenv.discovery.builtin"),
        Plugin("virtualenv", "virtualenv.create", "virtualenv.create.via_global_ref.venv"),
        Plugin("greeters", "greeters.plugins", "greeters.builtin.english"),
    ]
    args = plugin_args(plugins, set(), ["myapp"])
    assert args == [
        "--hidden-import", "virtualenv.discovery.builtin",
        "--hidden-import", "virtualenv.create.via_global_ref.venv",
        "--hidden-import", "greeters.builtin.english",
        "--collect-data", "virtualenv",
        "--collect-data", "greeters",
        "--copy-metadata", "virtualenv",
        "--copy-metadata", "greeters",
    ]  # fmt: skip


def test_a_package_with_a_pyinstaller_hook_keeps_its_hook_in_charge() -> None:
    plugins = [Plugin("pygments", "pygments.lexers", "pygments.lexers.python")]
    args = plugin_args(plugins, {"pygments", "pygments.lexers"}, [])
    assert "--collect-data" not in args
    assert args[:2] == ["--hidden-import", "pygments.lexers.python"]


def test_the_projects_own_packages_are_left_alone() -> None:
    plugins = [Plugin("myapp-extra", "myapp.plugins", "myapp.extra")]
    assert plugin_args(plugins, set(), ["myapp"]) == []


def test_dependencies_with_data_files_get_them_unless_hooked() -> None:
    args = plugin_args([], {"jinja2"}, ["myapp"], ["rfc3987_syntax", "jinja2", "myapp"])
    assert args == ["--collect-data", "rfc3987_syntax"]
