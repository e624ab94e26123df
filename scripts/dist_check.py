"""`make test-dist`: the built sdist and wheel, tested as a user installs them.

Builds the sdist and the wheel from the checkout (uv build, hatchling in an isolated environment), checks
what each holds (the sdist: sources, tests, docs, LICENSE, README, CHANGELOG; the wheel: the package with
py.typed, the license in its metadata, the entry points of the three hosts, no tests), builds a wheel from
the sdist and compares it with the first. Then, for the wheel and for the sdist (built into a wheel by
the installer, as `pip install publish_plugins-X.tar.gz` does), a fresh venv with that install and the
test tools (requirements/test.txt, no editable checkout) runs:

- `safe-publish --version` and `python -m publish_plugins --version`;
- the unit tests and the standalone command's end-to-end tests (a real publish, re-publish and conflict
  against pypiserver), with `publish_plugins` imported from the venv's site-packages; for the sdist,
  the tests shipped inside the unpacked sdist;
- the demo (scripts/demo.py): publish, identical re-run, conflict, with the venv's `safe-publish`.

Everything goes to build/dist-test/ (made anew each run). Exits 1 at the first failure.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "publish-plugins"
PACKAGE = "publish_plugins"
DEFAULT_TESTS = ["tests/unit", "tests/e2e/test_cli.py"]

# In the sdist, below its top folder: a file, or a folder with at least one file in it.
SDIST_REQUIRED = [
    "PKG-INFO",
    "pyproject.toml",
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "Makefile",
    "mkdocs.yml",
    "requirements/test.txt",
    "src/publish_plugins/__init__.py",
    "src/publish_plugins/py.typed",
    "src/publish_plugins/frontends/cli.py",
    "tests/conftest.py",
    "tests/support/",
    "tests/unit/",
    "tests/integration/",
    "tests/e2e/",
    "tests/docs/",
    "docs/index.md",
]
WHEEL_REQUIRED = [
    "publish_plugins/__init__.py",
    "publish_plugins/py.typed",
    "publish_plugins/frontends/cli.py",
]
# Entry point groups and names a host (or the shell) finds the plugin by.
ENTRY_POINTS = {
    "console_scripts": "safe-publish",
    "hatch": "safe",
    "pdm": "safe-publish",
    "poetry.application.plugin": "safe-publish",
}
# Build output, caches and environments never belong in a distribution.
NEVER = re.compile(r"(^|/)(__pycache__|\.venvs?|\.git|\.mypy_cache|\.ruff_cache|\.pytest_cache|site)/|\.pyc$")


class Failed(Exception):
    """A check failed; the message says which and why."""


def banner(text: str) -> None:
    """Print a step heading."""
    print(f"\n=== {text} ===", flush=True)


def run(command: Sequence[str | Path], *, cwd: Path = REPO_ROOT, capture: bool = False) -> str:
    """Run a command with the venv-free environment; raise Failed when it exits non-zero."""
    words = [str(word) for word in command]
    print("$ " + shlex.join(words), flush=True)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    done = subprocess.run(words, cwd=cwd, env=env, capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        if capture:
            print(done.stdout + done.stderr, end="", flush=True)
        raise Failed(f"exit code {done.returncode}: {' '.join(words)}")
    return done.stdout if capture else ""


def read_version() -> str:
    """The version the checkout declares (src/publish_plugins/_version.py)."""
    text = (REPO_ROOT / "src" / PACKAGE / "_version.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise Failed("no __version__ in src/publish_plugins/_version.py")
    return found.group(1)


def only(folder: Path, pattern: str) -> Path:
    """The one file in ``folder`` matching ``pattern``."""
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise Failed(f"expected one {pattern} in {folder}, found {[path.name for path in found]}")
    return found[0]


def check_metadata(where: str, text: str, version: str) -> None:
    """Core metadata (PKG-INFO or METADATA): name, version, MIT licence with its file, the one extra."""
    metadata = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    expected = {"Name": PROJECT, "Version": version, "License-Expression": "MIT", "License-File": "LICENSE"}
    for field, value in expected.items():
        if metadata.get(field) != value:
            raise Failed(f"{where}: {field} is {metadata.get(field)!r}, expected {value!r}")
    extras = sorted(metadata.get_all("Provides-Extra") or [])
    if extras != ["keyring"]:
        raise Failed(f"{where}: extras {extras}, expected only 'keyring' (the hosts are dependency groups)")


def check_sdist(sdist: Path, version: str) -> None:
    """The sdist holds what a packager needs to build and test, and nothing of the work tree's state."""
    top = f"{PACKAGE}-{version}/"
    with tarfile.open(sdist) as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
        pkg_info = archive.extractfile(top + "PKG-INFO")
        metadata = pkg_info.read().decode() if pkg_info else ""
    outside = [name for name in names if not name.startswith(top)]
    if outside:
        raise Failed(f"{sdist.name}: members outside {top}: {outside[:5]}")
    inside = [name.removeprefix(top) for name in names]
    missing = [
        path
        for path in SDIST_REQUIRED
        if not any(name.startswith(path) if path.endswith("/") else name == path for name in inside)
    ]
    if missing:
        raise Failed(f"{sdist.name}: missing {missing}")
    unwanted = [name for name in inside if NEVER.search(name)]
    if unwanted:
        raise Failed(f"{sdist.name}: holds build or cache files: {unwanted[:5]}")
    check_metadata(f"{sdist.name} PKG-INFO", metadata, version)
    print(f"{sdist.name}: {len(inside)} files; sources, tests, docs, LICENSE, README, CHANGELOG present")


def wheel_names(wheel: Path) -> list[str]:
    """The member names of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return sorted(archive.namelist())


def check_wheel(wheel: Path, version: str) -> None:
    """The wheel holds the package with py.typed, the licence, the entry points, and no tests."""
    dist_info = f"{PACKAGE}-{version}.dist-info/"
    names = wheel_names(wheel)
    missing = [path for path in [*WHEEL_REQUIRED, dist_info + "licenses/LICENSE"] if path not in names]
    if missing:
        raise Failed(f"{wheel.name}: missing {missing}")
    stray = [name for name in names if not name.startswith((f"{PACKAGE}/", dist_info))]
    if stray:
        raise Failed(f"{wheel.name}: files outside the package (tests?): {stray[:5]}")
    unwanted = [name for name in names if NEVER.search(name) or "/tests/" in name]
    if unwanted:
        raise Failed(f"{wheel.name}: holds tests, build or cache files: {unwanted[:5]}")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(dist_info + "METADATA").decode()
        entry_points = archive.read(dist_info + "entry_points.txt").decode()
    check_metadata(f"{wheel.name} METADATA", metadata, version)
    for group, name in ENTRY_POINTS.items():
        section = re.search(rf"^\[{re.escape(group)}\]\n((?:[^\[\n].*\n?)*)", entry_points, re.MULTILINE)
        if section is None or not re.search(rf"^{re.escape(name)} = ", section.group(1), re.MULTILINE):
            raise Failed(f"{wheel.name}: no entry point {name!r} in group {group!r}")
    print(f"{wheel.name}: {len(names)} files; py.typed, LICENSE, entry points present, no tests")


def unpack(sdist: Path, into: Path) -> Path:
    """Unpack the sdist; return its top folder."""
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    return only(into, f"{PACKAGE}-*")


class Venv:
    """A fresh venv holding one install of publish-plugins and the test tools."""

    def __init__(self, uv: Path, python: str, path: Path) -> None:
        self.uv = uv
        self.path = path
        self.python = path / "bin" / "python"
        run([uv, "venv", "-q", "--python", python, path])

    def install(self, target: Path, requirements: Path) -> None:
        """Install a wheel or an sdist (which the installer builds into a wheel) and the test tools."""
        run(
            [self.uv, "pip", "install", "-q", "--python", self.python, "--refresh-package", PROJECT,
             target, "-r", requirements]
        )  # fmt: skip

    def check_install(self, version: str) -> None:
        """The command answers with the version, from the venv's site-packages, not from a checkout."""
        commands: list[list[str | Path]] = [
            [self.path / "bin" / "safe-publish", "--version"],
            [self.python, "-m", PACKAGE, "--version"],
        ]
        for command in commands:
            answer = run(command, capture=True).strip()
            print(answer)
            if answer != f"safe-publish {version}":
                raise Failed(f"{command} says {answer!r}, expected 'safe-publish {version}'")
        location = run([self.python, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"], capture=True)
        print(f"imported from {location.strip()}")
        if not Path(location.strip()).is_relative_to(self.path.resolve()):
            raise Failed(f"{PACKAGE} imported from {location.strip()}, not from {self.path}")

    def pytest(self, cwd: Path, tests: Sequence[str], workers: str) -> None:
        """Run ``tests`` from ``cwd``, with the installed package already imported (so no copy of the
        sources on the path can stand in for it)."""
        guard = (
            f"import sys, {PACKAGE}, pytest; "
            f"assert {PACKAGE}.__file__.startswith(sys.prefix), {PACKAGE}.__file__; "
            "sys.exit(pytest.main(sys.argv[1:]))"
        )
        run([self.python, "-c", guard, "-q", "-p", "no:cacheprovider", "-n", workers, "--timeout", "300",
             *tests], cwd=cwd)  # fmt: skip

    def demo(self) -> None:
        """Publish, re-publish and conflict with this venv's `safe-publish` (scripts/demo.py)."""
        run([self.python, REPO_ROOT / "scripts" / "demo.py"])


def main(argv: Sequence[str] | None = None) -> int:
    """Build, check, install and test; return 0 when everything passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", type=Path, required=True, help="the uv executable")
    parser.add_argument("--python", default="python3", help="the interpreter for the venvs")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "build" / "dist-test")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers")
    parser.add_argument("tests", nargs="*", default=DEFAULT_TESTS, help="test paths, relative to the root")
    options = parser.parse_args(argv)
    uv, work = options.uv.resolve(), options.workdir.resolve()
    started = time.monotonic()
    try:
        version = read_version()
        shutil.rmtree(work, ignore_errors=True)
        dist, rebuilt = work / "dist", work / "from-sdist"

        banner("build the sdist and the wheel from the checkout")
        run([uv, "build", "-q", "--sdist", "--wheel", "--out-dir", dist, REPO_ROOT])
        sdist, wheel = only(dist, "*.tar.gz"), only(dist, "*.whl")
        check_sdist(sdist, version)
        check_wheel(wheel, version)

        banner("build a wheel from the sdist; it must hold the same files")
        run([uv, "build", "-q", "--wheel", "--out-dir", rebuilt, sdist])
        if wheel_names(only(rebuilt, "*.whl")) != wheel_names(wheel):
            raise Failed("the wheel built from the sdist holds other files than the one built from the tree")
        print("same files")

        source = unpack(sdist, work / "sdist-src")
        for label, target, tests_root in (("wheel", wheel, REPO_ROOT), ("sdist", sdist, source)):
            banner(f"the {label} in a fresh venv: version, tests from {tests_root.name}/, demo")
            venv = Venv(uv, options.python, work / f"venv-{label}")
            venv.install(target, tests_root / "requirements" / "test.txt")
            venv.check_install(version)
            venv.pytest(tests_root, options.tests, options.workers)
            venv.demo()
    except Failed as failure:
        print(f"\nDIST TEST FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"\ndist test OK: {sdist.name} and {wheel.name} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
