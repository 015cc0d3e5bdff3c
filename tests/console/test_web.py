"""Where the console sends a user after signing in: a page of this site, never another one."""

from __future__ import annotations

import pytest

from flexor_iac.console.web import safe_next


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "/\t/evil.example",
                                    "/\n/evil.example", "https://evil.example", "", None])
def test_anything_but_a_path_of_this_site_goes_to_the_environments(target: str | None) -> None:
    assert safe_next(target) == "/environments"


def test_a_path_of_this_site_is_kept() -> None:
    assert safe_next("/environments/staging/agents?state=paused") == \
        "/environments/staging/agents?state=paused"
