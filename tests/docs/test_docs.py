"""The documentation, executed: every command shown in docs/ and README.md is run or checked here.

How a page is read (docs/development.md, "Documentation tests", says the same for writers):

- Fenced blocks in ``console`` are terminal sessions: ``$ `` starts a command (a trailing backslash
  continues it), the lines up to the next command are its output. ``bash``/``sh``/``shell`` blocks hold
  commands only.
- An HTML comment right before a block configures it (invisible on the site)::

      <!-- doctest: index=conflict local=release server=md5 exit=0,3 token -->
      <!-- doctest: skip="why this block cannot run" -->
      <!-- doctest: file=~/.pypirc -->        (the block is written to that file, for the next blocks)
      <!-- doctest: ci index=half -->          (a YAML CI recipe: its safe-publish lines are run)
      <!-- doctest: report=report.json -->     (a JSON block compared with that file, written before)
      <!-- doctest: python -->                 (a Python example, run; an ``output`` block after it shows
                                                what it prints)

  ``index=`` resets the index (empty, published, half, conflict, monorepo), ``local=`` the project folder
  (release, mixed, monorepo); the first block of a page starts from ``index=empty local=release``.
- What each command is:

  * ``safe-publish`` / ``python -m publish_plugins``, and ``ls``/``python -c``/``cat``: run for real, in a
    scratch project, against a real pypiserver; the exit code is checked (``exit=``, or the output of a
    following ``echo $?``, else 0) and the shown output must equal the real output line by line (a
    ``...`` line stands for any lines; 64-digit hex digests match any digest).
  * ``hatch`` / ``pdm`` / ``poetry``: every option is looked up in the real host's ``--help`` for that
    subcommand (and hatch's ``-o KEY`` in the plugin's known keys). In a block marked ``host-run`` they
    are run for real, from the host's venv, with a repository ``private`` configured the host's way
    (pointing at the test server, user alice), and checked like ``safe-publish``.
  * ``make TARGET``: the target exists in the Makefile.
  * ``export`` / ``cd``: set up the following commands of the same block.
  * anything else fails, unless the block is marked ``skip="reason"``.

URLs in the docs are mapped to the test server: ``https://pypi.example.com/`` (the docs' private index)
and PyPI's URLs become the pypiserver's, and a ``safe-publish`` without ``--repository-url``/``-r`` (which
means PyPI) gets ``SAFE_PUBLISH_REPOSITORY_URL`` pointing at it. The server knows the docs' users:
``alice`` (password in ``SAFE_PUBLISH_PASSWORD``, set for every command), ``__token__`` (``$PYPI_TOKEN``)
and ``gitlab-ci-token`` (``$CI_JOB_TOKEN``).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support.dists import make_release, make_wheel
from tests.support.servers import PypiServer

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = REPO_ROOT / "docs"
PAGES = [*sorted(DOCS_DIR.rglob("*.md")), REPO_ROOT / "README.md"]
VENV_BIN = Path(sys.executable).parent

PYPI_TOKEN = "pypi-docs-example-token"
CI_JOB_TOKEN = "gitlab-docs-job-token"
PROJECT, VERSION = "example-pkg", "1.0.0"
COMMAND_TIMEOUT = 120

# The docs' example URLs, and what they stand for in the test. Longest first.
DOC_URLS = {
    "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi": "{url}",
    "https://upload.pypi.org/legacy/": "{url}",
    "https://pypi.org/simple/": "{simple}",
    "https://pypi.example.com/": "{url}",
}
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
HOSTS = ("hatch", "pdm", "poetry")
RUN_PROGRAMS = ("safe-publish", "ls", "cat")
BLOCK_LANGS = ("console", "bash", "sh", "shell")


# ---- reading pages ---------------------------------------------------------------------------------


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    directives: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


@dataclass
class Command:
    line: int
    text: str
    output: list[str] = field(default_factory=list)


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:(?P<body>.*?)-->\s*$")


def parse_blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with the directives of the comment right before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        lang = match["info"].strip().split(" ")[0].lstrip(".").lower()
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end][len(indent) :] if lines[end].startswith(indent) else lines[end].lstrip())
            end += 1
        blocks.append(Block(page, index + 1, lang, "\n".join(body), _directives_before(lines, index)))
        index = end + 1
    return blocks


def _directives_before(lines: list[str], fence_index: int) -> dict[str, str]:
    before = fence_index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    match = _DIRECTIVE.match(lines[before]) if before >= 0 else None
    if not match:
        return {}
    directives: dict[str, str] = {}
    for item in shlex.split(match["body"]):
        key, _, value = item.partition("=")
        directives[key] = value
    return directives


def console_commands(block: Block) -> list[Command]:
    """``$ `` lines are commands (backslash continues), the lines after each one its output."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            text, first = line[2:], index
            while text.endswith("\\") and index + 1 < len(lines):
                index += 1
                text = text[:-1] + " " + lines[index].strip()
            commands.append(Command(block.line + 1 + first, text))
        elif commands:
            commands[-1].output.append(line.rstrip())
        elif line.strip():
            pytest.fail(
                f"{block.where}: console output before the first `$ ` command: {line!r}", pytrace=False
            )
        index += 1
    for command in commands:
        while command.output and not command.output[-1]:
            command.output.pop()
    return commands


def script_commands(block: Block) -> list[Command]:
    """A bash block: every line not a comment is a command (backslash continues)."""
    commands: list[Command] = []
    pending = ""
    for offset, line in enumerate(block.text.splitlines()):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        pending = f"{pending} {stripped}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        commands.append(Command(block.line + 1 + offset, pending))
        pending = ""
    return commands


def words_of(command: str) -> list[str]:
    """The command's words, without leading ``NAME=value`` assignments."""
    words = shlex.split(command, comments=True)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words.pop(0)
    return words


def kind_of(words: list[str]) -> str:
    """How the doc tests treat a command: run, host, make, setup, status, empty or unknown."""
    if not words:
        return "empty"
    program, arguments = words[0], words[1:]
    runnable = (
        program in RUN_PROGRAMS
        or (program == "python" and arguments[:1] == ["-c"])
        or (program == "python" and arguments[:2] == ["-m", "publish_plugins"])
    )
    kinds = {
        "setup": program in ("export", "cd"),
        "status": program == "echo" and arguments == ["$?"],
        "run": runnable,
        "host": program in HOSTS,
        "make": program == "make",
    }
    return next((kind for kind, matches in kinds.items() if matches), "unknown")


# ---- the scratch world a page runs in ---------------------------------------------------------------


def _add_users(server: PypiServer) -> None:
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    # pypiserver re-reads its htpasswd file when it changes, so users can be added to a running server.
    htpasswd = HtpasswdFile(str(server.htpasswd))
    htpasswd.set_password("__token__", PYPI_TOKEN)
    htpasswd.set_password("gitlab-ci-token", CI_JOB_TOKEN)
    htpasswd.save()


@dataclass
class Artifacts:
    """The distributions the docs talk about, built once (deterministic bytes)."""

    root: Path

    @functools.cached_property
    def release(self) -> list[Path]:
        return make_release(self.root / "release", PROJECT, VERSION)

    @functools.cached_property
    def old_release(self) -> list[Path]:
        return make_release(self.root / "old", PROJECT, "0.9.0")

    @functools.cached_property
    def changed_wheel(self) -> Path:
        return make_wheel(
            self.root / "changed", PROJECT, VERSION, payload=b"rebuilt without a version bump\n"
        )

    @functools.cached_property
    def monorepo_old(self) -> list[Path]:
        return make_release(self.root / "monorepo", "acme-core", "1.4.0")

    @functools.cached_property
    def monorepo_new(self) -> list[Path]:
        return make_release(self.root / "monorepo", "acme-cli", "2.0.1")


class World:
    """A page's scratch project, HOME and index; blocks change it in page order."""

    def __init__(self, root: Path, servers: Callable[[str], PypiServer], artifacts: Artifacts) -> None:
        self.root = root
        self.home = root / "home"
        self.project = root / "project"
        self.home.mkdir(parents=True)
        self.project.mkdir(parents=True)
        self._servers = servers
        self.artifacts = artifacts
        self.server = servers("sha256")
        self.last_output = ""
        self.set_index("empty")
        self.set_local("release")

    # -- state --

    def use_server(self, kind: str) -> None:
        self.server = self._servers(kind)

    def set_index(self, state: str) -> None:
        self.server.clear()
        art = self.artifacts
        files = {
            "empty": [],
            "published": art.release,
            "half": art.release[:1],
            "conflict": [art.changed_wheel, art.release[1]],
            "monorepo": art.monorepo_old,
        }
        if state not in files:
            raise ValueError(f"unknown index state {state!r}")
        for path in files[state]:
            shutil.copyfile(path, self.server.packages_dir / path.name)

    def set_local(self, state: str) -> None:
        shutil.rmtree(self.project)
        dist = self.project / "dist"
        dist.mkdir(parents=True)
        art = self.artifacts
        files = {
            "release": art.release,
            "mixed": [*art.old_release, *art.release],
            "monorepo": [*art.monorepo_old, *art.monorepo_new],
        }
        if state not in files:
            raise ValueError(f"unknown local state {state!r}")
        for path in files[state]:
            shutil.copyfile(path, dist / path.name)
        if state != "monorepo":
            (self.project / "pyproject.toml").write_text(
                f'[project]\nname = "{PROJECT}"\nversion = "{VERSION}"\n', encoding="utf-8"
            )

    # -- text --

    def to_test(self, text: str) -> str:
        """The docs' URLs replaced by the test server's."""
        for doc_url, template in DOC_URLS.items():
            text = text.replace(doc_url, template.format(url=self.server.url, simple=self.server.simple_url))
        return text

    def env(self, *, token: bool = False) -> dict[str, str]:
        return {
            "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",  # the machine's keyring stays out
            "SAFE_PUBLISH_PASSWORD": PYPI_TOKEN if token else self.server.password,
            "PYPI_TOKEN": PYPI_TOKEN,
            "CI_JOB_TOKEN": CI_JOB_TOKEN,
            "COLUMNS": "100",
        }

    def host_env(self, host: str, host_bin: Path) -> dict[str, str]:
        """The environment of a host user whose repository ``private`` is the test server, as alice."""
        env = self.env()
        env["PATH"] = f"{host_bin}{os.pathsep}{env['PATH']}"
        del env["SAFE_PUBLISH_PASSWORD"]
        user, password, url = self.server.username, self.server.password, self.server.url
        config = self.home / "host-config"
        config.mkdir(exist_ok=True)
        if host == "hatch":
            hatch_config = config / "hatch.toml"
            hatch_config.write_text(f'[publish.index.repos.private]\nurl = "{url}"\n', encoding="utf-8")
            env |= {
                "HATCH_CONFIG": str(hatch_config),
                "HATCH_DATA_DIR": str(config / "hatch-data"),
                "HATCH_CACHE_DIR": str(config / "hatch-cache"),
                "HATCH_INDEX_USER": user,
                "HATCH_INDEX_AUTH": password,
            }
        elif host == "pdm":
            pdm_config = self.home / ".config" / "pdm" / "config.toml"
            pdm_config.parent.mkdir(parents=True, exist_ok=True)
            pdm_config.write_text(
                f'[repository.private]\nurl = "{url}"\nusername = "{user}"\npassword = "{password}"\n',
                encoding="utf-8",
            )
            env |= {"PDM_CACHE_DIR": str(config / "pdm-cache"), "PDM_CHECK_UPDATE": "false"}
        elif host == "poetry":
            env |= {
                "POETRY_CONFIG_DIR": str(config / "poetry-config"),
                "POETRY_CACHE_DIR": str(config / "poetry-cache"),
                "POETRY_DATA_DIR": str(config / "poetry-data"),
                "POETRY_REPOSITORIES_PRIVATE_URL": url,
                "POETRY_HTTP_BASIC_PRIVATE_USERNAME": user,
                "POETRY_HTTP_BASIC_PRIVATE_PASSWORD": password,
            }
        return env


def run_shell(world: World, prelude: list[str], command: str, env: dict[str, str]) -> tuple[int, str]:
    words = words_of(command)
    if words and words[0] == "safe-publish" and not {"--repository-url", "-r", "--repository"} & set(words):
        env = {**env, "SAFE_PUBLISH_REPOSITORY_URL": world.server.url}  # "PyPI" in the docs
    script = "\n".join([*prelude, command])
    result = subprocess.run(
        ["bash", "-c", world.to_test(script)],
        cwd=world.project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return result.returncode, result.stdout


def assert_output(world: World, where: str, command: str, expected: list[str], actual: str) -> None:
    actual_lines = [line.rstrip() for line in actual.splitlines()]
    patterns = [None if line == "..." else _line_pattern(world.to_test(line)) for line in expected]
    if not _matches(patterns, actual_lines):
        shown = "\n".join(expected)
        pytest.fail(
            f"{where}: the output of `{command}` differs from the docs.\n"
            f"--- docs ---\n{shown}\n--- real (URLs are the test server's) ---\n{actual.rstrip()}",
            pytrace=False,
        )


def _line_pattern(line: str) -> re.Pattern[str]:
    parts = HEX64.split(line)
    return re.compile("[0-9a-f]{64}".join(re.escape(part) for part in parts))


def _matches(patterns: list[re.Pattern[str] | None], lines: list[str]) -> bool:
    if not patterns:
        return not lines
    head, rest = patterns[0], patterns[1:]
    if head is None:
        return any(_matches(rest, lines[skip:]) for skip in range(len(lines) + 1))
    return bool(lines) and head.fullmatch(lines[0]) is not None and _matches(rest, lines[1:])


# ---- host commands ----------------------------------------------------------------------------------


@functools.cache
def host_help(executable: str, words: tuple[str, ...], home: str) -> str:
    env = {
        "PATH": f"{Path(executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": home,
        "HATCH_CONFIG": f"{home}/hatch/config.toml",
        "HATCH_DATA_DIR": f"{home}/hatch/data",
        "HATCH_CACHE_DIR": f"{home}/hatch/cache",
        "PDM_HOME": f"{home}/pdm",
        "PDM_CACHE_DIR": f"{home}/pdm/cache",
        "POETRY_CONFIG_DIR": f"{home}/poetry/config",
        "POETRY_CACHE_DIR": f"{home}/poetry/cache",
        "POETRY_DATA_DIR": f"{home}/poetry/data",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    Path(env["HATCH_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
    Path(env["HATCH_CONFIG"]).touch()
    result = subprocess.run(
        [executable, *words, "--help"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"`{Path(executable).name} {' '.join(words)} --help` failed:\n{result.stderr}")
    return result.stdout + result.stderr


@functools.cache
def hatch_option_keys(python: str) -> frozenset[str]:
    code = "from publish_plugins.frontends.hatch_publisher import KNOWN_KEYS; print(*sorted(KNOWN_KEYS))"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return frozenset(result.stdout.split())


def check_host_command(where: str, words: list[str], host_bin: Path, home: Path) -> None:
    host = words[0]
    leading = []
    for word in words[1:]:
        if word.startswith("-"):
            break
        leading.append(word)
    text = host_help(str(host_bin / host), tuple(leading), str(home))
    options = words[len(leading) + 1 :]
    for position, word in enumerate(options):
        if not word.startswith("-") or word == "-":
            continue
        name = word.split("=", 1)[0]
        if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            pytest.fail(
                f"{where}: `{' '.join(words)}`: {name} is not an option of `{host} {' '.join(leading)}`",
                pytrace=False,
            )
        if host == "hatch" and name in ("-o", "--option"):
            value = word.split("=", 1)[1] if "=" in word else options[position + 1]
            key = value.split("=", 1)[0]
            known = hatch_option_keys(str(host_bin / "python"))
            if key not in known:
                pytest.fail(f"{where}: hatch -o {key}: not a key of the safe publisher ({sorted(known)})")


# ---- running a page -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    return Artifacts(tmp_path_factory.mktemp("docs-artifacts"))


@pytest.fixture(scope="module")
def doc_servers(pypiserver_factory: Any) -> Callable[[str], PypiServer]:
    """The docs' own pypiservers, started on first use: pages clear them, so they are not shared."""
    started: dict[str, PypiServer] = {}

    def get(kind: str) -> PypiServer:
        if kind not in ("sha256", "md5", "nohash"):
            raise ValueError(f"unknown server {kind!r}")
        if kind not in started:
            server = pypiserver_factory(hash_algo="off" if kind == "nohash" else kind)
            _add_users(server)
            started[kind] = server
        return started[kind]

    return get


def _page_id(page: Path) -> str:
    return str(page.relative_to(REPO_ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_commands(
    page: Path,
    tmp_path: Path,
    doc_servers: Callable[[str], PypiServer],
    artifacts: Artifacts,
    host_venv: Callable[[str], Path],
) -> None:
    """Run every block of one page in order, as a reader would, and compare with what the page shows."""
    if not page.exists():
        pytest.fail(f"{page} is missing", pytrace=False)
    world = World(tmp_path, doc_servers, artifacts)
    for block in parse_blocks(page):
        run_block(world, block, host_venv)


_DIRECTIVE_KEYS = frozenset(
    (
        "skip",
        "index",
        "local",
        "server",
        "exit",
        "token",
        "file",
        "report",
        "ci",
        "python",
        "output",
        "host-run",
    )
)


def run_block(world: World, block: Block, host_venv: Callable[[str], Path]) -> None:
    """Set the world up as the block's directives say, then run or check the block."""
    directives = block.directives
    unknown = set(directives) - _DIRECTIVE_KEYS
    if unknown:
        pytest.fail(f"{block.where}: unknown doctest directive(s) {sorted(unknown)}", pytrace=False)
    if (
        block.lang in ("yaml", "yml")
        and "safe-publish" in block.text
        and not {"ci", "skip"} & set(directives)
    ):
        pytest.fail(
            f"{block.where}: a YAML block with safe-publish needs <!-- doctest: ci -->", pytrace=False
        )
    if "skip" in directives:
        if not directives["skip"].strip():
            pytest.fail(f'{block.where}: skip needs a reason: skip="..."', pytrace=False)
        return
    world.use_server(directives.get("server", "sha256"))
    if "index" in directives:
        world.set_index(directives["index"])
    if "local" in directives:
        world.set_local(directives["local"])
    if "file" in directives:
        target = Path(directives["file"].replace("~", str(world.home), 1))
        target = target if target.is_absolute() else world.project / target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(world.to_test(block.text) + "\n", encoding="utf-8")
        return
    if "report" in directives:
        compare_report(world, block, world.project / directives["report"])
        return
    if "ci" in directives:
        run_ci_recipe(world, block)
        return
    if "python" in directives:
        status, world.last_output = run_shell(world, [], f"python -c {shlex.quote(block.text)}", world.env())
        expected = int(directives.get("exit", "0"))
        assert status == expected, f"{block.where}: the example exited with {status}:\n{world.last_output}"
        return
    if "output" in directives:
        shown = block.text.splitlines()
        assert_output(world, block.where, "the Python example above", shown, world.last_output)
        return
    if block.lang in BLOCK_LANGS:
        commands = console_commands(block) if block.lang == "console" else script_commands(block)
        run_commands(world, block, commands, host_venv)


def run_commands(
    world: World, block: Block, commands: list[Command], host_venv: Callable[[str], Path]
) -> None:
    """Run or check a block's commands in order, as a reader would type them."""
    exits = [int(code) for code in block.directives["exit"].split(",")] if "exit" in block.directives else []
    prelude: list[str] = []  # the block's `export` and `cd` lines, replayed before every command
    last_status: int | None = None
    run_index = 0
    for position, command in enumerate(commands):
        where = f"{block.page.relative_to(REPO_ROOT)}:{command.line}"
        words = words_of(command.text)
        kind = kind_of(words)
        if kind == "host" and "host-run" not in block.directives:
            check_host_command(where, words, host_venv(words[0]), world.home)
            continue
        if kind in ("run", "host"):
            if kind == "host":
                env = world.host_env(words[0], host_venv(words[0]))
            else:
                env = world.env(token="token" in block.directives)
            status, output = run_shell(world, prelude, command.text, env)
            expected = _expected_status(exits, run_index, commands, position)
            run_index += 1
            if status != expected:
                pytest.fail(
                    f"{where}: `{command.text}` exited with {status}, the docs expect {expected}:\n{output}",
                    pytrace=False,
                )
            last_status = status
            if command.output or words[0] != "python":  # a bare `python -c` may print nothing
                assert_output(world, where, command.text, command.output, output)
        elif kind == "setup":
            prelude.append(command.text)
        elif kind == "status":
            if last_status is None:
                pytest.fail(f"{where}: `echo $?` with no command before it", pytrace=False)
            assert command.output == [str(last_status)], f"{where}: the docs show {command.output}"
        elif kind == "make":
            check_make_targets(where, words)
        elif kind != "empty":
            pytest.fail(
                f"{where}: `{command.text}`: the doc tests do not know how to run this; mark the block "
                '<!-- doctest: skip="reason" --> if it cannot run',
                pytrace=False,
            )


def _expected_status(exits: list[int], run_index: int, commands: list[Command], position: int) -> int:
    if exits:
        return exits[run_index] if len(exits) > 1 else exits[0]
    following = commands[position + 1] if position + 1 < len(commands) else None
    if following is not None and kind_of(words_of(following.text)) == "status" and following.output:
        return int(following.output[0])
    return 0


def check_make_targets(where: str, words: list[str]) -> None:
    makefile = REPO_ROOT / "Makefile"
    if not makefile.exists():
        pytest.fail(f"{where}: `{' '.join(words)}`, but there is no Makefile", pytrace=False)
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:", makefile.read_text(encoding="utf-8"), re.M))
    for target in (word for word in words[1:] if not word.startswith("-") and "=" not in word):
        if target not in targets:
            pytest.fail(f"{where}: `make {target}`: no such target in the Makefile", pytrace=False)


# ---- CI recipes -----------------------------------------------------------------------------------------


def run_ci_recipe(world: World, block: Block) -> None:
    """Run the ``safe-publish`` lines of a GitHub Actions or GitLab CI recipe with the step's environment."""
    import yaml  # type: ignore[import-untyped]  # (PyYAML comes with mkdocs)

    document = yaml.safe_load(block.text)
    scripts = list(_ci_scripts(document))
    publish_lines = [
        (line, env) for script, env in scripts for line in script if line.strip().startswith("safe-publish")
    ]
    if not publish_lines:
        pytest.fail(f"{block.where}: a ci block without a safe-publish line", pytrace=False)
    base = world.env()
    for line, step_env in publish_lines:
        env = {**base, **{key: _ci_value(str(value), base) for key, value in step_env.items()}}
        status, output = run_shell(world, [], line.strip(), env)
        expected = int(block.directives.get("exit", "0"))
        assert status == expected, f"{block.where}: `{line.strip()}` exited with {status}:\n{output}"


def _ci_scripts(document: Any) -> Iterator[tuple[list[str], dict[str, Any]]]:
    if not isinstance(document, dict):
        return
    if "jobs" in document:  # GitHub Actions
        for job in document["jobs"].values():
            for step in job.get("steps", []):
                if "run" in step:
                    env = {**job.get("env", {}), **step.get("env", {})}
                    yield str(step["run"]).splitlines(), env
        return
    for job in document.values():  # GitLab CI
        if isinstance(job, dict) and "script" in job:
            yield [str(line) for line in job["script"]], dict(job.get("variables", {}))


def _ci_value(value: str, env: dict[str, str]) -> str:
    value = re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", lambda m: env.get(m[1], ""), value)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m[1], m[0]), value)


# ---- the JSON report example ----------------------------------------------------------------------


def compare_report(world: World, block: Block, path: Path) -> None:
    """The report shown in the docs has the real report's structure and values (digests aside)."""
    shown = json.loads(world.to_test(block.text))
    real = json.loads(path.read_text(encoding="utf-8"))
    _compare_json(shown, real, block.where, "$")


def _compare_json(shown: Any, real: Any, where: str, at: str) -> None:
    if at == "$.tool.version":
        assert isinstance(real, str), f"{where}: {at}"
        return
    if isinstance(shown, dict):
        assert isinstance(real, dict), f"{where}: {at} is {real!r}"
        assert list(shown) == list(real), f"{where}: {at} keys {list(real)}"
        for key in shown:
            _compare_json(shown[key], real[key], where, f"{at}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list), f"{where}: {at} is {real!r}"
        assert len(shown) == len(real), f"{where}: {at} has {len(real)} items"
        for number, (a, b) in enumerate(zip(shown, real, strict=True)):
            _compare_json(a, b, where, f"{at}[{number}]")
    elif isinstance(shown, str) and isinstance(real, str):
        assert _line_pattern(shown).fullmatch(real), f"{where}: {at} is {real!r}, the docs show {shown!r}"
    else:
        assert shown == real, f"{where}: {at} is {real!r}, the docs show {shown!r}"


# ---- tables and lists checked against the code ----------------------------------------------------


def table_after(page: Path, marker: str) -> list[list[str]]:
    """The rows (cells without backticks) of the Markdown table right after ``<!-- doctest: marker -->``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*<!--\s*doctest:\s*{marker}\s*-->", line))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip().startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return rows[1:]  # without the header


def test_check_url_table_is_what_the_code_derives() -> None:
    from publish_plugins._urls import check_url_for, devpi_check_url
    from publish_plugins.errors import UsageError

    rows = table_after(DOCS_DIR / "check-url.md", "check-url-table")
    assert len(rows) >= 10
    for index, upload, check in rows:
        if check.startswith("not derived"):
            with pytest.raises(UsageError):
                check_url_for(upload)
        elif index == "devpi":
            assert devpi_check_url(upload) == check, index
        else:
            assert check_url_for(upload) == check, index


def test_exit_code_table_matches_the_code() -> None:
    from publish_plugins import errors

    rows = table_after(DOCS_DIR / "exit-codes.md", "exit-code-table")
    assert [int(row[0]) for row in rows] == [
        errors.EXIT_OK,
        errors.EXIT_FAILURE,
        errors.EXIT_USAGE,
        errors.EXIT_CONFLICT,
    ]
    assert errors.UsageError.exit_code == errors.InvalidDistributions.exit_code == 2
    assert errors.ConflictError.exit_code == 3
    assert errors.IndexQueryError.exit_code == errors.UploadFailed.exit_code == 1


def test_report_schema_lists_every_field() -> None:
    from publish_plugins._report import ACTIONS, SCHEMA_VERSION, AttestationRecord, FileRecord, build_report

    text = (DOCS_DIR / "report.md").read_text(encoding="utf-8")
    schema, actions = text.split("## Schema", 1)[1].split("### Actions", 1)
    row = re.compile(r"^\| `([a-z0-9_.\[\]-]+)` \|", re.M)
    documented = set(row.findall(schema))
    assert row.findall(actions) == list(ACTIONS)
    top = set(build_report([], repository_url="u", check_url=None, mode="strict", dry_run=False, exit_code=0))
    record_fields = {f"files[].{name}" for name in FileRecord.__dataclass_fields__}
    record_fields |= {f"files[].attestations[].{name}" for name in AttestationRecord.__dataclass_fields__}
    expected = (
        top | record_fields | {"tool.name", "tool.version"} | {f"totals.{action}" for action in ACTIONS}
    )
    assert documented == expected
    assert f"`schema_version` is {SCHEMA_VERSION}" in text


def test_every_option_of_safe_publish_is_documented() -> None:
    from publish_plugins.frontends.cli import build_parser

    text = (DOCS_DIR / "standalone.md").read_text(encoding="utf-8")
    parser = build_parser()
    for action in parser._actions:
        for option in action.option_strings:
            assert f"`{option}" in text, f"{option} is not documented in docs/standalone.md"
    documented = set(re.findall(r"`(--?[a-z][a-z-]*)", text))
    known = {option for action in parser._actions for option in action.option_strings}
    assert documented <= known, f"docs/standalone.md names options safe-publish lacks: {documented - known}"


# ---- error messages -----------------------------------------------------------------------------------

_ERROR_CALLS = {
    "UsageError",
    "IndexQueryError",
    "UploadFailed",
    "ConflictError",
    "DistributionError",
    "InvalidDistribution",
    "RetryableIndexError",
    "FileChangedError",
    "ArgumentTypeError",
    "TrustedPublishingFailed",
    "_NotOffered",  # trusted publishing not offered: the reason, in a notice or an 'always' error
    "_Bad",  # an attestation's problem
}
# Where a user meets the core's messages: the core modules, the standalone command and the helpers it shares
# with the host front ends (`--jobs`). The host front ends document their own messages on their pages.
_MESSAGE_SOURCES = [
    *sorted((REPO_ROOT / "src" / "publish_plugins").glob("*.py")),
    REPO_ROOT / "src" / "publish_plugins" / "frontends" / "cli.py",
    REPO_ROOT / "src" / "publish_plugins" / "frontends" / "_credentials.py",
    REPO_ROOT / "src" / "publish_plugins" / "frontends" / "_shared.py",
]
# Words a library puts around our messages (argparse: "argument --jobs: <our text>").
_LIBRARY_TEXT = (
    "argument --jobs: ",
    "argument --timeout: ",
    "argument --retries: ",
    "argument --retry-backoff: ",
    "argument --max-file-size: ",
)


def source_messages() -> list[tuple[str, re.Pattern[str]]]:
    """(where, pattern) for every message given to an error in the core: f-string parts become ``.*``."""
    messages = []
    for path in _MESSAGE_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name not in _ERROR_CALLS:
                continue
            for argument in node.args:
                pattern = _message_pattern(argument)
                if pattern is not None:
                    messages.append((f"{path.name}:{node.lineno}", pattern))
    return messages


def _message_pattern(node: ast.expr) -> re.Pattern[str] | None:
    parts: list[str] = []

    def walk(item: ast.expr) -> bool:
        if isinstance(item, ast.Constant) and isinstance(item.value, str):
            parts.append(re.escape(item.value))
        elif isinstance(item, ast.JoinedStr):
            for value in item.values:
                if isinstance(value, ast.Constant):
                    parts.append(re.escape(str(value.value)))
                else:
                    parts.append(".*")
        elif isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
            return walk(item.left) and walk(item.right)
        else:
            return False
        return True

    if not walk(node):
        return None
    text = "".join(parts)
    if len(re.sub(r"\.\*|\\", "", text)) < 6:  # a bare placeholder is not a message
        return None
    return re.compile(text)


def documented_messages() -> list[str]:
    """The messages in docs/troubleshooting.md: the code spans of its headings."""
    text = (DOCS_DIR / "troubleshooting.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return [span for heading in headings for span in re.findall(r"`([^`]+)`", heading)]


def test_every_error_message_is_in_troubleshooting() -> None:
    documented = documented_messages()
    missing = [
        f"{where}: {pattern.pattern}"
        for where, pattern in source_messages()
        if not any(pattern.search(message) for message in documented)
    ]
    assert not missing, "error messages without an entry in docs/troubleshooting.md:\n" + "\n".join(missing)


def test_every_troubleshooting_message_exists_in_the_code() -> None:
    """Each message quoted in troubleshooting.md is still in the code (pieces between placeholders)."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "src").rglob("*.py"))
    source = re.sub(r'"\s*\n\s*f?"', "", source)  # implicitly concatenated string literals, joined
    for quoted in documented_messages():
        message = quoted
        for library_text in _LIBRARY_TEXT:
            message = message.replace(library_text, "")
        # Messages are composed (event text + reason), so compare the pieces between placeholders and
        # punctuation: a reworded message fails, a recombined one does not.
        for part in re.split(r"<[^>]+>|…|[,;:()]\s*", message):
            piece = part.strip()
            if len(piece) >= 6:
                assert piece in source, (
                    f"docs/troubleshooting.md quotes {message!r}; {piece!r} is not in src/"
                )
