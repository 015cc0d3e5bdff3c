"""One `flexor serve` for several environments: each one's webhooks, health and metrics under
its name, a run recorded in the environment whose hook was called."""

from __future__ import annotations

from pathlib import Path

import httpx

from flexor_iac.controlplane.runs import RunQuery
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from tests.helpers.flexor_serve import DEPLOYED_AT, PROBE, listening, service
from tests.helpers.keys import issue_key
from tests.helpers.project import write_agent
from tests.helpers.runtime import install
from tests.helpers.waiting import eventually


def test_each_environments_hooks_are_under_its_name(project: Path) -> None:
    write_agent(project, "hooked", PROBE, trigger="type: webhook")
    agent = project / "agents" / "hooked.yaml"
    agent.write_text(agent.read_text().replace("environment: staging",
                                               "environment: production"))
    with clock.frozen(DEPLOYED_AT):
        for env in (Environment.STAGING, Environment.PRODUCTION):
            install(project, env).close()
    with ControlPlane(locate(project)) as store:  # production's webhooks need a key
        key = issue_key(store, "ops", "run:production")
    staging, production = (service(project, env=env) for env in
                           (Environment.STAGING, Environment.PRODUCTION))
    with listening(staging, production) as url:
        assert httpx.post(f"{url}/hooks/hooked", json={}).status_code == 404  # which one?
        answer = httpx.post(f"{url}/production/hooks/hooked", json={"n": 1},
                            headers={"authorization": f"Bearer {key}"})
        assert answer.status_code == 202 and answer.json()["environment"] == "production"
        health = httpx.get(f"{url}/healthz").json()
        assert set(health["environments"]) == {"staging", "production"}
        assert httpx.get(f"{url}/staging/healthz").json()["environment"] == "staging"
        assert "flexor_" in httpx.get(f"{url}/staging/metrics").text

        def recorded() -> bool:
            with ControlPlane(locate(project)) as store:
                return [r.environment for r in store.runs(RunQuery(agent="hooked"))] == [
                    "production"]
        eventually(recorded, "the production run was not recorded")
