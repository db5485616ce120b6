"""Repair the CMake files of the ROS 2 PyPI wheels so that CMake can build against them.

The wheels' exported CMake targets name the include directories of the machine that built them
(``/opt/python/cp311-cp311/...``). CMake refuses an imported target whose include directory does
not exist, so every interface package that depends on them fails to configure. This rewrites those
paths to the running interpreter's. It is idempotent: a repaired file contains no builder path.

Usage: python scripts/repair_ros_wheels.py [PREFIX]   (PREFIX defaults to sys.prefix)
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

# A builder path is everything up to the next CMake list separator, quote or whitespace.
BUILDER_PATH = re.compile(r"/opt/python/cp3\d+-cp3\d+/[^;\"'\s)]*")


def local_path_for(builder_path: str) -> str:
    """Map one path of the wheel builder to the matching path of this interpreter."""
    rest = re.sub(r"^/opt/python/cp3\d+-cp3\d+/", "", builder_path)
    if re.fullmatch(r"include/python3\.\d+", rest):
        return sysconfig.get_paths()["include"]
    match = re.fullmatch(r"lib/python3\.\d+/site-packages/(.*)", rest)
    if match is None:
        raise ValueError(f"do not know where the builder path {builder_path!r} lives here")
    inside = match.group(1)
    if re.fullmatch(r"numpy/_?core/include", inside):
        import numpy

        return numpy.get_include()
    return str(Path(sysconfig.get_paths()["purelib"]) / inside)


def repair(prefix: Path) -> list[Path]:
    """Rewrite builder paths in every CMake file under prefix/share; return the changed files."""
    changed = []
    for cmake_file in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = cmake_file.read_text(encoding="utf-8")
        if "/opt/python/" not in text:
            continue
        new_text = BUILDER_PATH.sub(lambda m: local_path_for(m.group(0)), text)
        if new_text != text:
            cmake_file.write_text(new_text, encoding="utf-8")
            changed.append(cmake_file)
    return changed


def main(argv: list[str]) -> int:
    prefix = Path(argv[1]) if len(argv) > 1 else Path(sys.prefix)
    if not (prefix / "share").is_dir():
        print(f"repair_ros_wheels: {prefix}/share does not exist", file=sys.stderr)
        return 2
    for local in (sysconfig.get_paths()["include"],):
        if not (Path(local) / "Python.h").is_file():
            print(f"repair_ros_wheels: Python headers missing ({local}/Python.h)", file=sys.stderr)
            return 2
    changed = repair(prefix)
    print(f"repair_ros_wheels: rewrote builder include paths in {len(changed)} CMake file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
