"""The one reader of dpkg's status records."""

from __future__ import annotations

from hatch_krust.oci.dpkg_status import installed, stanzas

STATUS = """\
Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u9
Description: GNU C Library: Shared libraries
 Contains the standard libraries: a continuation line, not a field.
 Version: 9.9 (nor is this)

Package: python3.11-minimal
Status: purge ok not-installed
Architecture: amd64


Package: tzdata
Version: 2025b-0+deb12u2
Architecture: all
"""


def test_each_stanza_is_its_fields_without_continuation_lines() -> None:
    found = list(stanzas(STATUS))
    assert [f["Package"] for f in found] == ["libc6", "python3.11-minimal", "tzdata"]
    assert found[0]["Version"] == "2.36-9+deb12u9"
    assert found[0]["Description"] == "GNU C Library: Shared libraries"
    assert "Contains the standard libraries" not in str(found[0])


def test_installed_reads_status_and_takes_a_status_d_stanza_as_installed() -> None:
    libc, gone, tzdata = stanzas(STATUS)
    assert installed(libc)
    assert not installed(gone)  # "not-installed" holds the word, but is not
    assert installed(tzdata)  # distroless status.d files carry no Status
    assert not installed({"Status": "deinstall ok config-files"})


def test_blank_text_has_no_stanza() -> None:
    assert list(stanzas("\n\n  \n")) == []
