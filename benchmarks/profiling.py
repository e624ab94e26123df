"""Evidence for misses: where safe-publish spends its CPU (py-spy, all threads) and its start-up imports.

py-spy samples only threads that are running, so the shares are of CPU time, not of waiting.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .harness import LOOPBACK, Condition, ServerPool, TestCA, clean_env
from .scenarios import Scenario
from .tools import Context, Tool
from .venvs import BENCH_VENV

# The modules of the verdicts added by issues 13-14 (equivalent archives, index rules, trusted publishing,
# attestations): what a run that uses none of them still pays for them is their import time.
VERDICT_MODULES = (
    "publish_plugins._archive_contents",
    "publish_plugins._index_rules",
    "publish_plugins._rule_check",
    "publish_plugins._trusted_publishing",
    "publish_plugins._attestations",
    "publish_plugins._identity",
    "publish_plugins._ci",
)

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")
Matcher = Callable[[str, list[str]], bool]  # (thread name, frames root first) -> in this category
_IDLE_LEAVES = ("_worker (", "Condition.wait (", "Thread.join (", "Event.wait (", "_wait_for_tstate_lock (")
CATEGORIES: tuple[tuple[str, Matcher], ...] = (
    ("importing modules", lambda thread, frames: any("_find_and_load" in f for f in frames)),
    # py-spy counts some blocked pool threads as active; these samples are waits, not work.
    (
        "waiting in thread pools (sampled as active)",
        lambda thread, frames: frames[-1].startswith(_IDLE_LEAVES),
    ),
    (
        "hashing files (file_digests and its threads)",
        lambda thread, frames: (
            "publish-plugins-hash" in thread
            or "publish-plugins-digests" in thread
            # A pool worker whose innermost Python frame is _WorkItem.run is inside a C call submitted
            # to the pool: in this code base only hasher.update is (hashing._hash_parallel).
            or frames[-1].startswith("_WorkItem.run (")
            or any("file_digests" in f or "_hash_parallel" in f for f in frames)
        ),
    ),
    (
        "streaming upload bodies (read + sha256)",
        lambda thread, frames: frames[-1].startswith("UploadBody.__iter__ ("),
    ),
    ("reading archives (metadata)", lambda thread, frames: any("read_distribution" in f for f in frames)),
    (
        "TLS: encrypting and sending (ssl)",
        lambda thread, frames: any("ssl.py" in f and ("send" in f or "write" in f) for f in frames),
    ),
    (
        "TLS set-up (loading CA bundles)",
        lambda thread, frames: any(
            "create_default_context" in f or "load_verify_locations" in f or "load_default_certs" in f
            for f in frames
        ),
    ),
    (
        "HTTP send/receive (httpx, httpcore, h11, socket)",
        lambda thread, frames: any(
            k in f for f in frames for k in ("httpcore", "/h11/", "socket.py", "ssl.py")
        ),
    ),
)


def _context(server: object, scenario: Scenario, tool: Tool, root: Path, ca: TestCA | None) -> Context:
    return Context(
        server.upload_url,  # type: ignore[attr-defined]
        server.simple_url,  # type: ignore[attr-defined]
        scenario.local,
        root / "home" / tool.key,
        root / "cwd",
        ca.ca_cert if ca is not None and server.condition.tls else None,  # type: ignore[attr-defined]
    )


def run_imports(
    scenario: Scenario, tool: Tool, python: Path, pool: ServerPool, root: Path
) -> dict[str, object]:
    """What one real run of safe-publish imports (``-X importtime``): self µs of every module, and of the
    verdict modules among them."""
    with pool.run(scenario.preload, scenario.local.project_names) as server:
        ctx = _context(server, scenario, tool, root, None)
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        invocation = tool.invocations(ctx)[0]
        argv = [str(python), "-X", "importtime", "-m", "publish_plugins", *invocation.argv[1:]]
        for _ in range(2):  # the first fills the bytecode caches
            done = subprocess.run(
                argv, cwd=invocation.cwd, env=invocation.env, capture_output=True, text=True, check=False
            )
    modules: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        modules[parts[2].strip()] = int(parts[0].split(":")[1])
    verdicts = {name: modules[name] for name in VERDICT_MODULES if name in modules}
    ours = {name: us for name, us in modules.items() if name.startswith("publish_plugins")}
    top = sorted(modules.items(), key=lambda item: -item[1])[:15]
    return {
        "exit": done.returncode,
        "total_us": sum(modules.values()),
        "count": len(modules),
        "ours_us": sum(ours.values()),
        "verdicts": verdicts,
        "not_imported": [name for name in VERDICT_MODULES if name not in modules],
        "top": top,
    }


def profile_run(
    scenario: Scenario,
    tool: Tool,
    python: Path,
    pool: ServerPool,
    root: Path,
    *,
    condition: Condition = LOOPBACK,
    ca: TestCA | None = None,
) -> dict[str, object]:
    """One py-spy-recorded safe-publish run of the scenario; a summary of where the CPU went."""
    out = root / "profiles" / f"{scenario.key}-{condition.key}-{tool.key}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    pyspy = next((p for p in (python.parent / "py-spy", BENCH_VENV / "bin" / "py-spy") if p.exists()), None)
    if pyspy is None:
        return {"error": f"py-spy is not installed beside {python} or in .venvs/bench"}
    with pool.run(scenario.preload, scenario.local.project_names, condition, ca) as server:
        ctx = _context(server, scenario, tool, root, ca)
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        invocation = tool.invocations(ctx)[0]
        argv = [
            str(pyspy),
            "record",
            "--format",
            "raw",
            "--rate",
            "500",
            "--threads",
            "--output",
            str(out),
            "--",
            str(python),
            "-m",
            "publish_plugins",
            *invocation.argv[1:],
        ]
        done = subprocess.run(
            argv,
            cwd=invocation.cwd,
            env=invocation.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if not out.exists():
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"error": f"py-spy failed: {lines[-1] if lines else done.returncode}"}
    return summarize(out)


def summarize(path: Path, top: int = 12) -> dict[str, object]:
    samples = 0
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")  # the first entry names the thread: "thread (id): name"
        if not frames:
            continue
        samples += count
        leaves[_short(frames[-1], with_line=True)] += count
        for name in {_short(frame, with_line=False) for frame in frames}:
            inclusive[name] += count
        for category, matches in CATEGORIES:
            if matches(thread, frames):
                categories[category] += count
                break
        else:
            categories["other"] += count
    return {
        "samples": samples,
        "rate": 500,
        "categories": categories.most_common(),
        "self": leaves.most_common(top),
        "inclusive": [(n, c) for n, c in inclusive.most_common(top * 3) if "<module>" not in n][:top],
    }


def _short(frame: str, *, with_line: bool) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    line = f":{match['line']}" if with_line and match["line"] else ""
    return f"{match['func']} ({file}{line})"


def import_times(python: Path, root: Path, top: int = 12) -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) of the slowest imports of the standalone CLI's run path."""
    code = "import publish_plugins.frontends.cli; from publish_plugins import publish"
    env = clean_env({}, root / "home" / "importtime")
    subprocess.run([str(python), "-c", code], env=env, capture_output=True, check=False)  # bytecode cache
    done = subprocess.run(
        [str(python), "-X", "importtime", "-c", code], env=env, capture_output=True, text=True, check=False
    )
    rows: list[tuple[str, int, int, int]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line.split("|")
        if len(parts) != 3:
            continue
        own, cumulative = int(parts[0].split(":")[1]), int(parts[1])
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((name.strip(), own, cumulative, depth))
    shallow = [(n, s, c) for n, s, c, d in rows if d <= 1]
    return sorted(shallow, key=lambda r: -r[2])[:top]
