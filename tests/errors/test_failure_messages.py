"""What reaches the user at an edge (CLI, builder, wheel hook): one line and a status for
our errors, operating-system errors and Ctrl-C; None (a traceback) only for bugs."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

from hatch_krust.errors import INTERRUPTED, ConfigError, failure


def test_our_errors_print_as_they_are() -> None:
    assert failure(ConfigError("Field `x` must be a string")) == ("Field `x` must be a string", 1)


def test_ctrl_c_is_interrupted_with_130() -> None:
    assert failure(KeyboardInterrupt()) == ("interrupted", INTERRUPTED)
    assert INTERRUPTED == 130


def test_a_cache_dir_under_a_file_names_the_path_and_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    try:
        (blocker / "cache").mkdir(parents=True)
    except OSError as exc:
        message, status = failure(exc) or ("", 0)
    assert status == 1
    assert message.startswith(f"Not a directory: {blocker / 'cache'}")
    assert "KRUST_CACHE_DIR" in message
    assert "\n" not in message


def test_a_full_disk_says_what_to_do() -> None:
    message, status = failure(OSError(errno.ENOSPC, "No space left on device", "/c/x")) or ("", 0)
    assert (status, message.split(";")[0]) == (1, "No space left on device: /c/x")
    assert "free some space" in message


def test_no_password_in_an_os_error() -> None:
    exc = OSError(errno.ENOENT, "No such file or directory", "https://alice:s3cret@host/x")
    message, _ = failure(exc) or ("", 0)
    assert "s3cret" not in message


def test_a_bug_keeps_its_traceback() -> None:
    assert failure(TypeError("a bug")) is None


def test_the_cli_maps_an_os_error_to_one_line(tmp_path: Path) -> None:
    from hatch_krust.oci.layout import Layout
    from tests.infra.registry import random_image

    random_image(Layout.create(tmp_path / "src"), tag="v1")
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "hatch_krust", "copy", f"oci:{tmp_path / 'src'}:v1",
         f"oci:{blocker / 'out'}:v1"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("hatch-krust: error: "), done.stderr
    assert str(blocker) in last
