"""`flexor plexifact load`: fill an environment's PlexiFact catalog (the embedded one, or in
team mode the one every clone and runner reads)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.files import Unreadable, read_text
from flexor_iac.runtime.connection import environment_catalog
from flexor_iac.runtime.plexifact import CatalogData, PlexiFactError, load

DEMO_DATA = "demo_catalog.yaml"
# About 200 bytes a position: room for a few hundred thousand; a larger file is no catalog.
MAX_DATA_BYTES = 64 << 20
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml


def _read(source: Path | None) -> CatalogData:
    where = str(source) if source else "the demo data"
    try:
        text = (read_text(source, MAX_DATA_BYTES) if source else
                resources.files("flexor_iac.runtime").joinpath(DEMO_DATA).read_text())
        return CatalogData.model_validate(yaml.load(text, Loader=_LOADER) or {})
    except Unreadable as error:
        raise FlexorError(f"{where}: cannot read catalog data: {error.reason}") from None
    except yaml.YAMLError as error:
        raise FlexorError(f"{where}: cannot read catalog data: {error}") from None
    except RecursionError:
        raise FlexorError(f"{where}: cannot read catalog data: nested too deep") from None
    except ValidationError as error:
        first = error.errors()[0]
        place = ".".join(map(str, first["loc"])) or "(top)"
        raise FlexorError(f"{where}: {place}: {first['msg']}") from None


def run(paths: ProjectPaths, env: Environment, source: Path | None, console: Console) -> int:
    """Replace the environment's catalog with `source` (default: the built-in demo data)."""
    data = _read(source)  # first: data that cannot be loaded changes nothing, makes nothing
    with ControlPlane.of(paths) as store:
        Gate(paths.root, store).require("plexifact load", env)
        uri = environment_catalog(paths, env, store)
        if uri is None:
            raise FlexorError(f"{env} has no PlexiFact catalog (set flexor:catalog in "
                              f"Pulumi.{env}.yaml)")
        try:
            where = load(paths.state_dir, uri, data, clock.now(), store)
        except PlexiFactError as error:
            raise FlexorError(str(error)) from None
    console.document({"environment": env.value, "catalog": uri, "path": where,
                      "feeds": len(data.feeds), "positions": len(data.positions)})
    shown = Path(where).relative_to(paths.root) if where.startswith(str(paths.root)) else where
    console.line(f"Loaded {len(data.feeds)} feed(s) and {len(data.positions)} position(s) "
                 f"into {uri} ({shown}).")
    return ExitCode.OK
