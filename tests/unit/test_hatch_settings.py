"""The hatch front end's options (``-o KEY[=VALUE]`` and both config tables), merged without hatch.

``collect_settings`` imports no hatch: these tests run in the main venv. hatch's own flags come from its
click context, which a direct call does not have (so none are given here). The same rules through the real ``hatch publish`` are in
tests/e2e/test_hatch.py and tests/e2e/test_bad_settings.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from publish_plugins.errors import UsageError
from publish_plugins.frontends.hatch_settings import KNOWN_KEYS, Settings, collect_settings

# hatch's flags are read through click, hatch's CLI library: here in the dev venv (mkdocs brings it) and in
# the hatch venv, not in the bare test environment of `make test-dist`.
pytest.importorskip("click")

ROOT = Path("/work/project")
CONFIG = "/home/user/.config/hatch/config.toml"
PYPROJECT = f"[tool.hatch.publish.safe] in {ROOT / 'pyproject.toml'}"
HATCH_CONFIG = f"[publish.safe] in {CONFIG}"


def collect(
    options: dict[str, Any] | None = None,
    project: dict[str, Any] | None = None,
    plugin: dict[str, Any] | None = None,
) -> Settings:
    """``-o`` options, ``[tool.hatch.publish.safe]`` of pyproject.toml, ``[publish.safe]`` of hatch's config."""
    return collect_settings(options or {}, project or {}, plugin or {}, root=ROOT, config_file=CONFIG)


def refused(message: str, **sources: dict[str, Any]) -> UsageError:
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        collect(**sources)
    assert info.value.exit_code == 2
    return info.value


def test_nothing_given_is_the_defaults() -> None:
    assert collect() == Settings()
    assert collect().value("repo") is None


def test_the_first_source_wins_and_is_named() -> None:
    """``-o`` over pyproject.toml over hatch's config; each value remembers where it was set."""
    everywhere = collect({"repo": "from-option"}, {"repo": "from-pyproject"}, {"repo": "from-config"})
    assert everywhere.value("repo") == "from-option"
    assert everywhere.given["repo"].where == "-o repo"
    below = collect(None, {"repo": "from-pyproject"}, {"repo": "from-config"})
    assert below.value("repo") == "from-pyproject"
    assert below.given["repo"].where == f"'repo' in {PYPROJECT}"
    last = collect(None, None, {"repo": "from-config", "jobs": 2})
    assert (last.value("repo"), last.given["repo"].where, last.jobs) == (
        "from-config",
        f"'repo' in {HATCH_CONFIG}",
        2,
    )


# ---- booleans and numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"options": {"skip-existing": ""}}, True),  # what hatch passes for a bare `-o skip-existing`
        ({"options": {"skip-existing": "YES"}}, True),
        ({"options": {"skip-existing": " on "}}, True),
        ({"options": {"skip-existing": "1"}}, True),
        ({"options": {"skip-existing": "false"}}, False),
        ({"options": {"skip-existing": "No"}}, False),
        ({"options": {"skip-existing": "0"}}, False),
        ({"project": {"skip-existing": True}}, True),
        ({"project": {"skip-existing": False}}, False),
        ({"plugin": {"skip-existing": "true"}}, True),
    ],
)
def test_boolean_words(sources: dict[str, dict[str, Any]], expected: bool) -> None:
    assert collect(**sources).skip_existing is expected


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            {"options": {"dry-run": "maybe"}},
            "-o dry-run: expected true or false (or 1/0, yes/no), got 'maybe'",
        ),
        # An empty string in a file is a mistake, not the bare `-o KEY` that "" means on the command line.
        ({"project": {"skip-existing": ""}}, f"'skip-existing' in {PYPROJECT}: expected true or false"),
        ({"plugin": {"skip_existing": 1}}, f"'skip_existing' in {HATCH_CONFIG}: expected true or false"),
    ],
)
def test_other_boolean_values_are_usage_errors(sources: dict[str, dict[str, Any]], message: str) -> None:
    refused(message, **sources)


@pytest.mark.parametrize(("value", "jobs"), [("3", 3), (" 4 ", 4), (2, 2)])
def test_jobs(value: object, jobs: int) -> None:
    assert collect({"jobs": value}).jobs == jobs


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5", "", 0, 2.5, True])
def test_jobs_that_are_not_a_whole_number_of_at_least_one(value: object) -> None:
    refused(f"-o jobs: expected a whole number of at least 1, got {value!r}", options={"jobs": value})


# ---- keys ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["skip_existing", "Skip-Existing", " skip-existing "])
def test_keys_are_taken_as_hatch_users_spell_them(key: str) -> None:
    assert collect({key: "true"}).skip_existing is True
    assert collect(None, {key: True}).skip_existing is True


@pytest.mark.parametrize(
    ("sources", "label"),
    [
        ({"options": {"frobnicate": "1"}}, "-o frobnicate"),
        ({"options": {"disable": "true"}}, "-o disable"),
        ({"project": {"jbos": 2}}, f"'jbos' in {PYPROJECT}"),
        ({"plugin": {"password": "x"}}, f"'password' in {HATCH_CONFIG}"),
    ],
)
def test_unknown_keys_are_usage_errors_listing_the_known_ones(
    sources: dict[str, dict[str, Any]], label: str
) -> None:
    error = refused(f"{label}: unknown option; the safe publisher takes ", **sources)
    assert ", ".join(sorted(KNOWN_KEYS)) in str(error)


def test_hatchs_own_keys_are_not_ours() -> None:
    """hatch puts ``no_prompt`` and ``initialize_auth`` in the options, and reads ``disable`` from every
    publisher table: none of them is an unknown option."""
    assert (
        collect({"no_prompt": True, "initialize_auth": False}, {"disable": False}, {"disable": True})
        == Settings()
    )


# ---- text and paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "usage"),
    [
        ("report", "-o report=FILE"),
        ("repo", "-o repo=NAME-or-URL"),
        ("check-url", "-o check-url=URL"),
        ("user", "-o user=VALUE"),
    ],
)
def test_an_empty_value_says_how_to_give_one(key: str, usage: str) -> None:
    refused(f"-o {key}: needs a value ({usage})", options={key: ""})


def test_a_value_that_is_not_text_is_refused_without_echoing_it() -> None:
    error = refused(f"'auth' in {HATCH_CONFIG}: must be a string", plugin={"auth": 271828})
    assert "271828" not in str(error)


@pytest.mark.parametrize("key", ["report", "ca-cert", "client-cert", "client-key"])
def test_relative_paths_are_taken_from_where_they_are_written(key: str) -> None:
    """A path in a file means the same from any folder: pyproject.toml's from the project, hatch's config's
    from the config file's folder; one on the command line is the user's own (the current folder)."""
    assert collect(None, {key: "certs/x.pem"}).value(key) == str(ROOT / "certs" / "x.pem")
    assert collect(None, None, {key: "certs/x.pem"}).value(key) == str(
        Path(CONFIG).parent / "certs" / "x.pem"
    )
    assert collect({key: "certs/x.pem"}).value(key) == "certs/x.pem"
    assert collect(None, {key: "/var/log/x.json"}, {key: "/var/x"}).value(key) == "/var/log/x.json"
    assert collect(None, None, {key: "/var/x"}).value(key) == "/var/x"


def test_paths_expand_the_home_folder_and_text_is_kept_as_given() -> None:
    settings = collect({"client-key": "~/keys/client.pem"}, {"check-url": "simple/"})
    assert settings.value("client-key") == str(Path.home() / "keys" / "client.pem")
    assert settings.value("check-url") == "simple/"


def test_a_password_in_pyproject_is_noticed() -> None:
    """A password in a file that is usually committed: the front end warns about it."""
    assert collect(None, {"auth": "secret"}).auth_in_pyproject is True
    assert collect({"auth": "secret"}, None, {"auth": "secret"}).auth_in_pyproject is False


# ---- trusted publishing and attestations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "mode"),
    [
        ({}, "automatic"),
        ({"options": {"trusted-publishing": "always"}}, "always"),
        ({"options": {"trusted_publishing": " Never "}}, "never"),
        ({"project": {"trusted-publishing": "always"}}, "always"),
        ({"options": {"trusted-publishing": "never"}, "plugin": {"trusted-publishing": "always"}}, "never"),
    ],
)
def test_trusted_publishing_mode(sources: dict[str, dict[str, Any]], mode: str) -> None:
    assert collect(**sources).trusted_publishing == mode


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            {"options": {"trusted-publishing": "sometimes"}},
            "-o trusted-publishing: choose one of automatic, always, never, got 'sometimes'",
        ),
        (
            {"project": {"trusted-publishing": "yes"}},
            f"'trusted-publishing' in {PYPROJECT}: choose one of automatic, always, never, got 'yes'",
        ),
        (
            {"plugin": {"trusted-publishing": True}},
            f"'trusted-publishing' in {HATCH_CONFIG}: must be a string",
        ),
        (
            {"options": {"trusted-publishing": ""}},
            "-o trusted-publishing: needs a value (-o trusted-publishing=automatic|always|never)",
        ),
    ],
)
def test_a_trusted_publishing_mode_that_is_none_of_the_choices(
    sources: dict[str, dict[str, Any]], message: str
) -> None:
    refused(message, **sources)


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({}, True),  # on by default
        ({"options": {"attestations": "false"}}, False),
        ({"options": {"attestations": ""}}, True),
        ({"project": {"attestations": False}}, False),
        ({"options": {"attestations": "yes"}, "plugin": {"attestations": False}}, True),
    ],
)
def test_attestations(sources: dict[str, dict[str, Any]], expected: bool) -> None:
    assert collect(**sources).attestations is expected


def test_attestations_that_are_not_a_boolean() -> None:
    refused(f"'attestations' in {PYPROJECT}: expected true or false", project={"attestations": "off-ish"})


def test_credentials_given_for_the_run_are_told_from_configured_ones() -> None:
    """``-o`` (and hatch's flags and variables) are given for this run; the config tables are configuration,
    which ``trusted-publishing=always`` does not read."""
    settings = collect({"user": "__token__"}, {"auth": "from-pyproject"}, {"repo": "main"})
    user = settings.explicit_setting("user")
    assert user is not None
    assert (user.value, user.where) == ("__token__", "-o user")
    assert settings.explicit_setting("auth") is None
    assert settings.value("auth") == "from-pyproject"


# ---- equivalent archives, monorepos, the index's rules ------------------------------------------------------


@pytest.mark.parametrize("key", ["require-identical", "per-project"])
@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({}, False),
        ({"options": {"KEY": ""}}, True),  # a bare `-o KEY`
        ({"options": {"KEY": "no"}, "project": {"KEY": True}}, False),
        ({"project": {"KEY": True}}, True),
        ({"plugin": {"KEY": "yes"}}, True),
    ],
)
def test_require_identical_and_per_project_are_switches(
    key: str, sources: dict[str, dict[str, Any]], expected: bool
) -> None:
    given = {source: {key: table["KEY"]} for source, table in sources.items()}
    assert getattr(collect(**given), key.replace("-", "_")) is expected


def test_a_switch_that_is_not_a_boolean_names_its_key_and_source() -> None:
    refused("-o require-identical: expected true or false", options={"require-identical": "strictly"})
    refused(f"'per_project' in {HATCH_CONFIG}: expected true or false", plugin={"per_project": 2})


@pytest.mark.parametrize(
    ("sources", "size"),
    [
        ({}, None),
        ({"options": {"max-file-size": "100M"}}, 100 * 1024 * 1024),
        ({"options": {"max_file_size": " 1.5G "}}, 3 * 512 * 1024 * 1024),
        ({"project": {"max-file-size": 5000}}, 5000),
        ({"plugin": {"max-file-size": "2K"}}, 2048),
        ({"options": {"max-file-size": "1K"}, "project": {"max-file-size": 5000}}, 1024),
    ],
)
def test_max_file_size(sources: dict[str, dict[str, Any]], size: int | None) -> None:
    assert collect(**sources).max_file_size == size


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"options": {"max-file-size": "lots"}}, "-o max-file-size: not a size: 'lots' (bytes, or a number"),
        ({"options": {"max-file-size": ""}}, "-o max-file-size: needs a value (-o max-file-size=SIZE)"),
        (
            {"project": {"max-file-size": 0}},
            f"'max-file-size' in {PYPROJECT}: a size must be more than 0 bytes",
        ),
        (
            {"plugin": {"max-file-size": 1.5}},
            f"'max-file-size' in {HATCH_CONFIG}: expected a size, a number of bytes or text such as \"100M\", "
            "got 1.5",
        ),
        ({"project": {"max-file-size": True}}, f"'max-file-size' in {PYPROJECT}: expected a size"),
    ],
)
def test_a_max_file_size_that_is_not_a_size(sources: dict[str, dict[str, Any]], message: str) -> None:
    refused(message, **sources)


def test_index_rules_are_kept_as_given_with_where() -> None:
    """The value is checked with the run's options (``publish_options``), under the name it was given by."""
    settings = collect({"index_rules": "pypi"}, {"index-rules": "none"})
    rules = settings.given["index-rules"]
    assert (rules.value, rules.where) == ("pypi", "-o index_rules")
    configured = collect(None, {"index-rules": "none"}).given["index-rules"]
    assert (configured.value, configured.where) == ("none", f"'index-rules' in {PYPROJECT}")
    refused("-o index-rules: needs a value (-o index-rules=auto|pypi|none)", options={"index-rules": ""})
    refused(f"'index-rules' in {HATCH_CONFIG}: must be a string", plugin={"index-rules": 1})
