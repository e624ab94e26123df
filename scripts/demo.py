"""`make demo`: publish, re-publish and conflict against a local pypiserver, with `safe-publish`.

Starts pypiserver on a free 127.0.0.1 port (htpasswd alice/s3cret, --disable-fallback) in a temporary
folder, builds a wheel and an sdist with the test suite's generator, then runs the real `safe-publish`
three times: a first publish (exit 0), the same files again (skipped as identical, exit 0), and one
file rebuilt with different content (conflict, exit 3, nothing uploaded). Exits 1 if any exit code
differs from that, so the demo doubles as a smoke test.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # for tests.support, which this demo reuses

from tests.support.dists import make_release, make_wheel  # noqa: E402
from tests.support.servers import PypiServer  # noqa: E402

PROJECT = "hello-safe"
VERSION = "1.0.0"


def banner(text: str) -> None:
    """Print a step heading."""
    print(f"\n=== {text} ===", flush=True)


def safe_publish(server: PypiServer, work: Path, files: list[Path]) -> int:
    """Run the installed `safe-publish` console script in ``work``; return its exit code."""
    executable = Path(sys.executable).parent / "safe-publish"
    arguments = [*(str(path.relative_to(work)) for path in files), "--repository-url", server.url]
    arguments += ["-u", server.username, "-p", server.password]
    print("$ safe-publish " + " ".join(arguments).replace(server.password, "****"), flush=True)
    code = subprocess.run([str(executable), *arguments], cwd=work, check=False).returncode
    print(f"--> exit code {code}", flush=True)
    return code


def main() -> int:
    """Run the three steps; return 0 when the exit codes are 0, 0, 3."""
    with tempfile.TemporaryDirectory(prefix="publish-plugins-demo-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        banner("starting pypiserver on 127.0.0.1")
        with PypiServer(work / "pypiserver") as server:
            print(f"upload URL {server.url}   simple index {server.simple_url}")
            files = make_release(dist, PROJECT, VERSION, payload=b"first build")
            print("built: " + ", ".join(path.name for path in files))

            banner("1. publish the release (expect 0: both files uploaded)")
            codes = [safe_publish(server, work, files)]

            banner("2. publish the same files again (expect 0: skipped, identical)")
            codes.append(safe_publish(server, work, files))

            banner("3. rebuild the wheel with different content, publish again (expect 3: conflict)")
            make_wheel(dist, PROJECT, VERSION, payload=b"a different build")
            codes.append(safe_publish(server, work, files))

            stored = sorted(server.stored_files())
            print(f"\nthe index holds: {', '.join(stored)}")

    expected = [0, 0, 3]
    if codes != expected:
        print(f"\nDEMO FAILED: exit codes {codes}, expected {expected}", file=sys.stderr)
        return 1
    print(f"\ndemo OK: exit codes {codes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
