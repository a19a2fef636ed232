"""What went into the executable: the facts a bill of materials is made from.

PyInstaller writes the table of contents of what it packed (`PKG-00.toc`, and `PYZ-00.toc`
for the modules inside its PYZ archive) as Python literals in its work directory; staticx's
runner lists the native libraries it added (`KRUST_STATICX_REPORT`). Here the packed files
are matched against the RECORD of every distribution in the freeze environment, so that a
distribution counts as bundled only when its own code is in the executable (PyInstaller,
staticx, pip and setuptools are installed but, apart from PyInstaller's bootloader, not
packed). Native libraries are matched to Debian packages through `dpkg -S` when dpkg knows
them. The result is a plain JSON-able dict, stored in the executable cache with the
executable, so that a rebuild from the cache gives the same bill of materials.
"""

from __future__ import annotations

import ast
import base64
import csv
import email.parser
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.python.metadata import installed_metadata

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "FREEZER_DISTRIBUTIONS",
    "collect_bundle",
    "debian_packages",
    "read_toc",
]

# The freezer's own distributions: recorded as tools, never as contents. PyInstaller's
# bootloader and loader modules are in every executable; they are the freezer, not the app.
FREEZER_DISTRIBUTIONS = frozenset({"pyinstaller", "pyinstaller-hooks-contrib", "staticx"})
_SKIPPED_TYPES = frozenset({"OPTION", "PYZ", "DEPENDENCY", "SPLASH"})
_CHUNK = 1 << 20


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name (`PyYAML` -> `pyyaml`)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def read_toc(path: Path) -> list[tuple[str, str, str]]:
    """The (dest, source, typecode) entries of a PyInstaller TOC file (a Python literal)."""
    try:
        data = ast.literal_eval(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, SyntaxError):
        return []
    for part in data if isinstance(data, tuple) else (data,):
        if isinstance(part, list):
            return [
                (str(e[0]), str(e[1] or ""), str(e[2]))
                for e in part
                if isinstance(e, tuple) and len(e) >= 3
            ]
    return []


def packed_sources(build_dir: Path) -> dict[str, str]:
    """Real source path -> typecode of every file PyInstaller packed (PYZ modules included)."""
    entries = read_toc(build_dir / "PKG-00.toc")
    for toc in sorted(build_dir.glob("PYZ-*.toc")):
        entries += read_toc(toc)
    sources: dict[str, str] = {}
    for _dest, source, typecode in entries:
        if typecode in _SKIPPED_TYPES or not source:
            continue
        sources.setdefault(os.path.realpath(source), typecode)
    return sources


def _record_hash(value: str) -> str:
    """RECORD's `sha256=<urlsafe base64>` as hex; empty for other algorithms or none."""
    algorithm, _, encoded = value.partition("=")
    if algorithm != "sha256" or not encoded:
        return ""
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    return raw.hex()


def _file_sha1(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _licence(metadata: Any) -> str:
    """License-Expression, else a short License field, else the licence classifiers."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    text = (metadata.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80:
        return text
    classifiers = [
        c.split("::")[-1].strip()
        for c in metadata.get_all("Classifier") or []
        if c.startswith("License ::") and c.count("::") >= 2
    ]
    return " AND ".join(sorted(set(classifiers)))


def _distribution(dist_info: Path, sources: dict[str, str]) -> dict[str, Any] | None:
    """The distribution of `dist_info` with the files of it that were packed, or None."""
    try:
        metadata = email.parser.HeaderParser().parsestr(
            (dist_info / "METADATA").read_text("utf-8")
        )
        record = (dist_info / "RECORD").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    site = dist_info.parent
    files, code = [], False
    for row in csv.reader(io.StringIO(record)):
        if not row or not row[0]:
            continue
        path = site / row[0]
        if os.path.realpath(path) not in sources:
            continue
        code = code or not row[0].split("/", 1)[0].endswith(".dist-info")
        sha256 = _record_hash(row[1] if len(row) > 1 else "") or _file_sha256(path)
        files.append({"path": row[0], "sha256": sha256, "sha1": _file_sha1(path)})
    if not code:
        return None
    return {
        "name": metadata.get("Name") or dist_info.name.split("-", 1)[0],
        "version": metadata.get("Version") or "",
        "license": _licence(metadata),
        "summary": (metadata.get("Summary") or "").strip(),
        "files": sorted(files, key=lambda f: f["path"]),
    }


def bundled_distributions(env_root: Path, sources: dict[str, str]) -> list[dict[str, Any]]:
    """Every distribution of the environment whose own code was packed, by name."""
    found = []
    for dist_info in sorted(env_root.glob("lib/python*/site-packages/*.dist-info")):
        dist = _distribution(dist_info, sources)
        if dist is not None and normalise_name(dist["name"]) not in FREEZER_DISTRIBUTIONS:
            found.append(dist)
    return sorted(found, key=lambda d: normalise_name(d["name"]))


def debian_packages(paths: Iterable[str]) -> dict[str, dict[str, str]]:
    """path -> {package, version, architecture} for the paths dpkg knows; {} without dpkg."""
    dpkg = shutil.which("dpkg")
    query = shutil.which("dpkg-query")
    if dpkg is None or query is None:
        return {}
    candidates: dict[str, str] = {}
    for path in paths:
        for alias in _usrmerge_aliases(path):
            candidates.setdefault(alias, path)
    if not candidates:
        return {}
    done = subprocess.run(
        [dpkg, "-S", *sorted(candidates)], capture_output=True, text=True, check=False, timeout=60
    )
    owners: dict[str, str] = {}
    for line in done.stdout.splitlines():
        package, sep, owned = line.partition(": ")
        if sep and owned in candidates and "," not in package:
            owners.setdefault(candidates[owned], package)
    versions = _package_versions(query, sorted(set(owners.values())))
    return {path: versions[pkg] for path, pkg in owners.items() if pkg in versions}


def _usrmerge_aliases(path: str) -> list[str]:
    """dpkg knows a file under the name its package shipped it: /lib or /usr/lib."""
    real = os.path.realpath(path)
    out = [path, real]
    for name in (path, real):
        for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
            if name.startswith(a):
                out.append(b + name[len(a) :])
    return list(dict.fromkeys(out))


def _package_versions(query: str, packages: list[str]) -> dict[str, dict[str, str]]:
    if not packages:
        return {}
    done = subprocess.run(
        [query, "-W", "-f=${Package}:${Architecture}\t${Version}\t${source:Package}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    out: dict[str, dict[str, str]] = {}
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, _, arch = parts[0].partition(":")
        entry = {"package": name, "version": parts[1], "architecture": arch, "source": parts[2]}
        out[parts[0]] = out[name] = entry
    return out


def native_library(
    path: str, bundled_by: str, packages: dict[str, dict[str, str]], name: str = ""
) -> dict[str, Any]:
    real = Path(os.path.realpath(path))
    entry: dict[str, Any] = {
        "name": name or Path(path).name,
        "path": path,
        "sha256": _file_sha256(real) if real.is_file() else "",
        "bundled_by": bundled_by,
    }
    if path in packages:
        entry["debian"] = packages[path]
    return entry


def python_runtime(env_python: Path, sources: dict[str, str]) -> dict[str, Any]:
    """The interpreter whose runtime was packed: version, prefix, and its Debian package."""
    probe = (
        "import json, platform, sys, sysconfig; print(json.dumps({"
        "'version': platform.python_version(), 'implementation': platform.python_implementation(),"
        "'prefix': sys.base_prefix, 'libdir': sysconfig.get_config_var('LIBDIR') or '',"
        "'ldlibrary': sysconfig.get_config_var('LDLIBRARY') or ''}))"
    )
    done = subprocess.run(
        [str(env_python), "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    info: dict[str, Any] = json.loads(done.stdout)
    prefix = os.path.realpath(info["prefix"])
    libpython = [s for s in sources if Path(s).name.startswith("libpython")]
    runtime_files = [s for s in sources if s.startswith(prefix + os.sep)]
    packages = debian_packages(libpython or runtime_files[:1])
    origin: dict[str, Any] = {"prefix": info["prefix"]}
    known = next(iter(packages.values()), None)
    if known is not None:
        origin["debian"] = known
    elif "/.pyenv/" in prefix:
        origin["builder"] = "pyenv"
    return {
        "name": info["implementation"],
        "version": info["version"],
        "origin": origin,
        "libpython": sorted(libpython),
    }


def collect_bundle(
    env_root: Path,
    env_python: Path,
    build_dir: Path,
    staticx_report: Path | None,
) -> dict[str, Any]:
    """The bill-of-materials facts of one freeze (see the module docstring)."""
    sources = packed_sources(build_dir)
    distributions = bundled_distributions(env_root, sources)
    dist_paths: set[str] = set()
    for dist_info in env_root.glob("lib/python*/site-packages"):
        dist_paths.add(os.path.realpath(dist_info))
    runtime = python_runtime(env_python, sources)
    prefix = os.path.realpath(runtime["origin"]["prefix"])
    # (path PyInstaller took it from, name it packed it as) of the system's libraries
    system = sorted({
        (source, Path(dest).name)
        for dest, source, typecode in read_toc(build_dir / "PKG-00.toc")
        if typecode in ("BINARY", "EXTENSION")
        and not os.path.realpath(source).startswith(prefix + os.sep)
        and not any(os.path.realpath(source).startswith(d + os.sep) for d in dist_paths)
    })
    staticx_libs = _staticx_libraries(staticx_report)
    packages = debian_packages([*(source for source, _ in system), *staticx_libs])
    native = [native_library(p, "pyinstaller", packages, name) for p, name in system]
    native += [native_library(p, "staticx", packages) for p in staticx_libs]
    return {
        "distributions": distributions,
        "metadata": installed_metadata(env_root, distributions),  # for scanners
        "python": runtime,
        "native": sorted(native, key=lambda n: (n["name"], n["bundled_by"])),
    }


def _staticx_libraries(report: Path | None) -> list[str]:
    if report is None:
        return []
    try:
        added = json.loads(report.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return sorted({str(entry["path"]) for entry in added if isinstance(entry, dict)})
