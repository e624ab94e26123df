"""``python rusage.py OUT -- ARGV...``: run ARGV, write "maxrss_kib user_s sys_s" to OUT, exit as it did.

Used when GNU ``/usr/bin/time`` is missing. A process measured straight from the harness would inherit
the harness's memory high-water mark through fork (Linux keeps ``maxrss`` across exec), so the tool is
started from this small process instead: only its few MiB can leak into the figure.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    out, command = argv[0], argv[2:]
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w") as stream:  # noqa: PTH123 (no pathlib import: keep this process small)
        stream.write(f"{usage.ru_maxrss} {usage.ru_utime:.2f} {usage.ru_stime:.2f}\n")
    return os.waitstatus_to_exitcode(status) & 0xFF


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
