"""Where the client sends its verbs, and that a key never goes unencrypted off this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.errors import UsageError
from flexor_iac.remote.settings import checked_url, remote


@pytest.mark.parametrize("url", ["https://flexor.example:8470/", "http://127.0.0.1:8470",
                                 "http://localhost:1", "http://[::1]:8470"])
def test_https_anywhere_and_plain_http_on_loopback_are_taken(url: str) -> None:
    assert checked_url(url) == url.rstrip("/")


def test_plain_http_elsewhere_is_refused_unless_the_user_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="plain HTTP would send the API key unencrypted"):
        checked_url("http://flexor.example:8470")
    monkeypatch.setenv("FLEXOR_INSECURE_HTTP", "1")
    assert checked_url("http://flexor.example:8470") == "http://flexor.example:8470"


@pytest.mark.parametrize("url", ["flexor.example", "ftp://x", "https://", "x" * 500])
def test_what_is_not_a_server_url_is_one_short_line(url: str) -> None:
    with pytest.raises(UsageError) as refused:
        checked_url(url)
    assert "give its URL" in str(refused.value) and len(str(refused.value)) < 200


def test_the_option_wins_over_the_variable_which_wins_over_pulumi_yaml(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert remote(None, project) is None  # no server: verbs run here
    pulumi_yaml = project / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
        "config:\n", "config:\n  flexor:server: https://from-project.example\n"))
    configured = remote(None, project)
    assert configured is not None and configured.url == "https://from-project.example"
    monkeypatch.setenv("FLEXOR_SERVER", "https://from-variable.example")
    monkeypatch.setenv("FLEXOR_API_KEY", " flx_key \n")
    found = remote(None, project)
    assert found is not None and (found.url, found.key) == ("https://from-variable.example",
                                                           "flx_key")
    given = remote("https://given.example", project)
    assert given is not None and given.url == "https://given.example"


def test_local_runs_the_verb_here_whatever_pulumi_yaml_names(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi_yaml = project / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
        "config:\n", "config:\n  flexor:server: https://team.example\n"))
    assert remote("local", project) is None
    monkeypatch.setenv("FLEXOR_SERVER", "local")
    assert remote(None, project) is None
