"""How each tool is found, configured and invoked on a scenario's files.

Credentials go through each tool's environment variables (or a netrc file for curl), never argv, so the
commands written to the results carry no secret. Tools that take file paths get the scenario's files in
upload order (wheels first); tools that publish a project's ``dist/`` (PDM, poetry) run once per project
folder, as a monorepo's CI would. Over TLS every tool is given the test CA the way it takes one (``CA_HOW``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .fixtures import DistFile, FileSet
from .harness import PASSWORD, USERNAME, Invocation, clean_env
from .venvs import BENCH_VENV, VENVS

Family = Literal["ours", "peer", "floor"]


@dataclass
class Context:
    """Where a run publishes and with what: URLs through the proxy, the files, a HOME for the tool."""

    upload_url: str
    simple_url: str
    files: FileSet
    home: Path
    workdir: Path
    ca_cert: Path | None = None  # the test CA, when the index speaks TLS


@dataclass
class Tool:
    key: str
    label: str
    family: Family
    host: str | None  # hatch | pdm | poetry for the host front ends and the hosts' own publish
    executable: str  # name, resolved by ``locate``
    venv: Path | None  # where to look first; None: beside this interpreter, then PATH
    build: Callable[[Tool, Context], list[Invocation]]
    probe: Callable[[Tool, Path], str | None] | None = None  # None when usable, else why not
    per_project: bool = False  # publishes a project's dist/: one invocation per project folder
    path: Path | None = None
    unavailable: str | None = None
    notes: list[str] = field(default_factory=list)

    def locate(self) -> None:
        self.path = find_executable(self.executable, self.venv)
        if self.path is None:
            where = f"{self.venv}/bin" if self.venv else "PATH"
            self.unavailable = f"{self.executable} not found ({where})"

    def invocations(self, ctx: Context) -> list[Invocation]:
        return self.build(self, ctx)

    @property
    def bin_dir(self) -> Path | None:
        return self.path.parent if self.path else None


def find_executable(name: str, venv: Path | None) -> Path | None:
    candidates = []
    if venv is not None:
        candidates.append(venv / "bin" / name)
    candidates += [Path(sys.executable).parent / name, BENCH_VENV / "bin" / name]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def _exe(tool: Tool) -> str:
    assert tool.path is not None
    return str(tool.path)


def _paths(ctx: Context) -> list[str]:
    return [str(p) for p in ctx.files.paths]


def _env(tool: Tool, ctx: Context, extra: dict[str, str]) -> dict[str, str]:
    dirs = [tool.bin_dir] if tool.bin_dir else []
    return clean_env(extra, ctx.home, dirs)


# ---- ours -----------------------------------------------------------------------------------------------


def _safe_publish(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "--repository-url", ctx.upload_url, "--check-url", ctx.simple_url, "-u", USERNAME]
    if ctx.ca_cert:
        argv += ["--ca-cert", str(ctx.ca_cert)]
    env = _env(tool, ctx, {"SAFE_PUBLISH_PASSWORD": PASSWORD})
    return [Invocation([*argv, *_paths(ctx)], ctx.workdir, env)]


def _hatch_env(tool: Tool, ctx: Context) -> dict[str, str]:
    config = ctx.home / "hatch" / "config.toml"
    if not config.exists():  # hatch refuses a HATCH_CONFIG that does not exist
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("")
    extra = {
        "HATCH_CONFIG": str(ctx.home / "hatch" / "config.toml"),
        "HATCH_DATA_DIR": str(ctx.home / "hatch" / "data"),
        "HATCH_CACHE_DIR": str(ctx.home / "hatch" / "cache"),
        "HATCH_INDEX_USER": USERNAME,
        "HATCH_INDEX_AUTH": PASSWORD,
    }
    if ctx.ca_cert:
        extra["HATCH_INDEX_CA_CERT"] = str(ctx.ca_cert)  # hatch's --ca-cert; the plugin reads it too
    return _env(tool, ctx, extra)


def _hatch_safe(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "-p", "safe", "-n", "-o", f"repo={ctx.upload_url}"]
    argv += ["-o", f"user={USERNAME}", "-o", f"check-url={ctx.simple_url}"]
    return [Invocation([*argv, *_paths(ctx)], ctx.files.projects[0].root, _hatch_env(tool, ctx))]


def _pdm_env(tool: Tool, ctx: Context) -> dict[str, str]:
    return _env(
        tool,
        ctx,
        {
            "PDM_HOME": str(ctx.home / "pdm" / "home"),
            "PDM_CACHE_DIR": str(ctx.home / "pdm" / "cache"),
            "PDM_CONFIG_FILE": str(ctx.home / "pdm" / "config.toml"),
            "PDM_CHECK_UPDATE": "false",
            "PDM_NON_INTERACTIVE": "1",
            "PDM_PUBLISH_USERNAME": USERNAME,
            "PDM_PUBLISH_PASSWORD": PASSWORD,
        },
    )


def _pdm_safe(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "safe-publish", "--no-build", "-r", ctx.upload_url, "--check-url", ctx.simple_url]
    argv += _ca(ctx, "--ca-certs")
    env = _pdm_env(tool, ctx)
    return [Invocation(argv, project.root, env) for project in ctx.files.projects]


def _poetry_env(tool: Tool, ctx: Context) -> dict[str, str]:
    return _env(
        tool,
        ctx,
        {
            "POETRY_CONFIG_DIR": str(ctx.home / "poetry" / "config"),
            "POETRY_CACHE_DIR": str(ctx.home / "poetry" / "cache"),
            "POETRY_DATA_DIR": str(ctx.home / "poetry" / "data"),
            "POETRY_NO_INTERACTION": "1",
            "POETRY_REPOSITORIES_BENCH_URL": ctx.upload_url,
            "POETRY_HTTP_BASIC_BENCH_USERNAME": USERNAME,
            "POETRY_HTTP_BASIC_BENCH_PASSWORD": PASSWORD,
        },
    )


def _poetry_strict(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "-r", "bench", "--skip-existing-strict", "--check-url", ctx.simple_url]
    argv += _ca(ctx, "--cert")
    env = _poetry_env(tool, ctx)
    return [Invocation(argv, project.root, env) for project in ctx.files.projects]


# ---- peers ----------------------------------------------------------------------------------------------


def _twine(tool: Tool, ctx: Context) -> list[Invocation]:
    # --skip-existing is refused off PyPI by twine 7, so this is its plain upload.
    argv = [_exe(tool), "upload", "--repository-url", ctx.upload_url, "--non-interactive"]
    argv.append("--disable-progress-bar")
    argv += _ca(ctx, "--cert")
    env = _env(tool, ctx, {"TWINE_USERNAME": USERNAME, "TWINE_PASSWORD": PASSWORD})
    return [Invocation([*argv, *_paths(ctx)], ctx.workdir, env)]


def _uv(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "--publish-url", ctx.upload_url, "--check-url", ctx.simple_url]
    extra = {
        "UV_PUBLISH_USERNAME": USERNAME,
        "UV_PUBLISH_PASSWORD": PASSWORD,
        "UV_NO_CACHE": "1",  # every run reads the index, as the others do
        "UV_PYTHON_DOWNLOADS": "never",
    }
    if ctx.ca_cert:
        extra["SSL_CERT_FILE"] = str(ctx.ca_cert)  # uv's way to a custom CA bundle
    env = _env(tool, ctx, extra)
    return [Invocation([*argv, *_paths(ctx)], ctx.workdir, env)]


def _pdm_own(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "--no-build", "-r", ctx.upload_url, "--skip-existing"]
    argv += _ca(ctx, "--ca-certs")
    env = _pdm_env(tool, ctx)
    return [Invocation(argv, project.root, env) for project in ctx.files.projects]


def _poetry_own(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "-r", "bench", "--skip-existing"]
    argv += _ca(ctx, "--cert")
    env = _poetry_env(tool, ctx)
    return [Invocation(argv, project.root, env) for project in ctx.files.projects]


def _hatch_own(tool: Tool, ctx: Context) -> list[Invocation]:
    argv = [_exe(tool), "publish", "-n", "-r", ctx.upload_url]
    return [Invocation([*argv, *_paths(ctx)], ctx.files.projects[0].root, _hatch_env(tool, ctx))]


def _curl(tool: Tool, ctx: Context) -> list[Invocation]:
    """One curl process, one connection, every file in turn (``--next``): the transport floor."""
    netrc = ctx.home / "netrc"
    netrc.parent.mkdir(parents=True, exist_ok=True)
    netrc.write_text(f"machine 127.0.0.1 login {USERNAME} password {PASSWORD}\n")
    netrc.chmod(0o600)
    argv = [_exe(tool)]
    for index, (item, path) in enumerate(zip(ctx.files.files, ctx.files.paths, strict=True)):
        if index:
            argv.append("--next")
        argv += _curl_upload(item, path, ctx.upload_url, netrc)
        argv += _ca(ctx, "--cacert")
    return [Invocation(argv, ctx.workdir, _env(tool, ctx, {}))]


def _curl_upload(item: DistFile, path: Path, url: str, netrc: Path) -> list[str]:
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": item.name,
        "version": item.version,
        "filetype": item.filetype,
        "pyversion": item.pyversion,
        "metadata_version": "2.1",
        "sha256_digest": item.sha256,
    }
    argv = ["-sS", "-f", "--netrc-file", str(netrc), "-A", "bench-curl/1", "-H", "Expect:"]
    argv += ["-o", "/dev/null", "-w", "%{http_code} %{url_effective}\\n"]
    for name, value in fields.items():
        argv += ["--form-string", f"{name}={value}"]
    return [*argv, "-F", f"content=@{path}", url]


def _ca(ctx: Context, flag: str) -> list[str]:
    return [flag, str(ctx.ca_cert)] if ctx.ca_cert else []


# How each tool is given the test CA over TLS (for the results).
CA_HOW = {
    "safe-publish": "`--ca-cert CA`",
    "hatch-safe": "`HATCH_INDEX_CA_CERT=CA` (hatch's `--ca-cert` variable; the plugin reads it too)",
    "pdm-safe": "`--ca-certs CA`",
    "poetry-strict": "`--cert CA`",
    "twine": "`--cert CA`",
    "uv": "`SSL_CERT_FILE=CA`",
    "pdm": "`--ca-certs CA`",
    "poetry": "`--cert CA`",
    "hatch": "`HATCH_INDEX_CA_CERT=CA`",
    "curl": "`--cacert CA` (each segment)",
}


# ---- availability probes ----------------------------------------------------------------------------------


def _probe(argv: list[str], home: Path, expect: str | None = None) -> str | None:
    env = clean_env({}, home, [Path(argv[0]).parent])
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    except OSError as exc:
        return f"{argv[0]}: {exc}"
    output = done.stdout + done.stderr
    command = " ".join([Path(argv[0]).name, *argv[1:]])
    if done.returncode != 0:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return f"`{command}` exit {done.returncode}: {lines[-1] if lines else 'no output'}"
    if expect is not None and expect not in output:
        return f"`{command}` does not offer {expect}"
    return None


def _probe_hatch(tool: Tool, home: Path) -> str | None:
    python = _exe(tool).rsplit("/", 1)[0] + "/python"
    return _probe([python, "-c", "import publish_plugins.frontends.hatch_hooks"], home)


def _probe_pdm(tool: Tool, home: Path) -> str | None:
    return _probe([_exe(tool), "safe-publish", "--help"], home)


def _probe_poetry(tool: Tool, home: Path) -> str | None:
    return _probe([_exe(tool), "publish", "--help"], home, expect="--skip-existing-strict")


def all_tools() -> list[Tool]:
    """Every tool, ours first; ``locate()`` is left to the caller."""
    return [
        Tool("safe-publish", "safe-publish", "ours", None, "safe-publish", BENCH_VENV, _safe_publish),
        Tool("hatch-safe", "hatch publish -p safe", "ours", "hatch", "hatch", VENVS / "hatch", _hatch_safe,
             _probe_hatch),
        Tool("pdm-safe", "pdm safe-publish", "ours", "pdm", "pdm", VENVS / "pdm", _pdm_safe, _probe_pdm,
             per_project=True),
        Tool("poetry-strict", "poetry publish --skip-existing-strict", "ours", "poetry", "poetry",
             VENVS / "poetry", _poetry_strict, _probe_poetry, per_project=True),
        Tool("twine", "twine upload", "peer", None, "twine", BENCH_VENV, _twine),
        Tool("uv", "uv publish --check-url", "peer", None, "uv", BENCH_VENV, _uv),
        Tool("pdm", "pdm publish --skip-existing", "peer", "pdm", "pdm", VENVS / "pdm", _pdm_own,
             per_project=True),
        Tool("poetry", "poetry publish --skip-existing", "peer", "poetry", "poetry", VENVS / "poetry",
             _poetry_own, per_project=True),
        Tool("hatch", "hatch publish", "peer", "hatch", "hatch", VENVS / "hatch", _hatch_own),
        Tool("curl", "curl -F (floor)", "floor", None, "curl", None, _curl),
    ]  # fmt: skip


def display_command(tool: Tool, files: FileSet, scratch: Path) -> str:
    """The command line of a tool with placeholders for the run-specific parts (for the results).

    ``scratch`` is a throw-away HOME: building the command writes the tool's config files there.
    """
    ctx = Context("http://127.0.0.1:PORT/", "http://127.0.0.1:PORT/simple/", files, scratch, scratch)
    invocations = tool.invocations(ctx)
    names = {str(p) for p in files.paths}
    shown: list[str] = []
    for arg in invocations[0].argv:
        if arg in names:
            if not shown or shown[-1] != "FILES...":
                shown.append("FILES...")
            continue
        shown.append(arg.replace(str(scratch), "HOME"))
    if tool.key == "curl":
        first = shown.index("--next") if "--next" in shown else len(shown)
        shown = [*shown[:first], "--next", "... (one segment per file)"]
        shown = [s if "content=@" not in s else "content=@FILE" for s in shown]
        shown = [s if not s.startswith("sha256_digest=") else "sha256_digest=SHA256" for s in shown]
    if tool.path is not None:
        shown[0] = tool.path.name
    text = " ".join(_quote(s) for s in shown)
    if len(invocations) > 1 or tool.per_project:
        text += "  (in each project folder)"
    return text


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " %\\") else arg
