"""Every malformed input of the corpus, through the real command: nothing of the run reaches the index.

The corpus (tests/support/bad_dists.py) is also read in-process by tests/unit/test_distribution.py; here
each case is given to ``safe-publish`` beside a valid release, with the fault proxy (no faults) as the
index, so "zero bytes uploaded" is counted on the wire rather than inferred.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.cli_support import error_line, run_cli
from tests.support.bad_dists import CASES, ROOT_IGNORES_PERMISSIONS, BadCase
from tests.support.commands import creds
from tests.support.dists import DistFactory
from tests.support.index_state import stored
from tests.support.proxy import FaultProxy
from tests.support.servers import PypiServer


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_stops_the_run_before_any_request(
    case: BadCase,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """Exit 2 (the case's documented code), one line naming the file and the reason, no traceback;
    not a single request reaches the index (so zero bytes uploaded), and the valid files given in the
    same run are not published either."""
    if case.id in ROOT_IGNORES_PERMISSIONS and os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = case.build(bad_dir)
    good = dists.release(unique_name, "1.0")
    proxy = fault_proxy(pypiserver.url)

    result = run_cli([*creds(pypiserver, proxy.url), *map(str, good), *map(str, bad)], cwd=tmp_path)

    assert result.returncode == case.exit_code, result.stderr
    line = error_line(result)
    assert "nothing was uploaded" in line
    # The file is named with its reason on one line: the error line itself, or (when several files are
    # bad) the per-file line the error line sums up.
    named = [text for text in result.stderr.splitlines() if any(str(path) in text for path in bad)]
    assert any(case.expect in text.lower() for text in named), result.stderr
    assert proxy.requests == []
    assert proxy.upload_bytes == 0
    assert stored(pypiserver, unique_name) == {}
