"""The floor flexor is measured against: a bare Pulumi project of N trivial dynamic resources,
on the same pinned CLI, language host and SDK, on a `file://` backend with passphrase secrets
and the engine's default intermediate checkpoints (one state write per resource step).

Each resource's provider (importable from the project folder, as flexor's are from its
package) writes one small file in create/update and removes it in delete; an update-all
changes every resource's `version` input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flexor_iac.deploy.toolchain import pulumi_bin_dir

_PROVIDER = '''"""A trivial importable dynamic provider: one small file per resource."""

from pathlib import Path

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult


class Trivial(ResourceProvider):
    serialize_as_secret_always = False  # it captures no secret (as flexor's providers)

    def _write(self, props):
        Path(props["folder"], props["name"]).write_text(props["version"])
        return dict(props)

    def create(self, props):
        return CreateResult(props["name"], self._write(props))

    def diff(self, _id, olds, news):
        fields = [k for k in set(olds) | set(news)
                  if k != "__provider" and olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(fields))

    def update(self, _id, _olds, news):
        return UpdateResult(self._write(news))

    def delete(self, _id, props):
        Path(props["folder"], props["name"]).unlink(missing_ok=True)
'''

_PROGRAM = '''import json
from pathlib import Path

from pulumi.dynamic import Resource

from trivial import Trivial


class Thing(Resource, module="floor", name="Thing"):
    def __init__(self, name, props):
        super().__init__(Trivial(), name, props)


here = Path(__file__).parent
settings = json.loads((here / "settings.json").read_text())
for index in range(settings["count"]):
    name = f"thing-{index}"
    Thing(name, {"name": name, "version": settings["version"],
                 "folder": str(here / "written")})
'''


def generate(root: Path, count: int) -> None:
    """Write the floor project for `count` resources at version 1."""
    (root / "written").mkdir(parents=True, exist_ok=True)
    (root / "state").mkdir(exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: floor\nruntime: python\n")
    (root / "trivial.py").write_text(_PROVIDER)
    (root / "__main__.py").write_text(_PROGRAM)
    set_version(root, count, 1)


def set_version(root: Path, count: int, version: int) -> None:
    """Every resource's `version` input: changing it updates all of them."""
    (root / "settings.json").write_text(f'{{"count": {count}, "version": "{version}"}}\n')


def engine_env(root: Path) -> dict[str, str]:
    """The environment the floor's `pulumi` runs in (checkpoints as the engine defaults)."""
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_SKIP_CHECKPOINTS"}
    return {**env,
            "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "floor",
            "PULUMI_HOME": str(root / "pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_PYTHON_CMD": sys.executable,
            "PYTHONPATH": str(root),
            "PATH": f"{pulumi_bin_dir()}{os.pathsep}{env.get('PATH', '')}"}


INIT = ["pulumi", "stack", "init", "floor", "--non-interactive"]
UP = ["pulumi", "up", "--stack", "floor", "--yes", "--non-interactive"]
