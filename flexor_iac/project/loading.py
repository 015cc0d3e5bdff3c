"""Load a whole Flexor project from disk into typed models, collecting every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from flexor_iac.core.constants import PULUMI_PROJECT, Environment, Tier
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Document, read_document
from flexor_iac.project.files import FILE, Identity, Refused, identify, vault_boundary
from flexor_iac.project.models import AgentSpec, FlexorStackSettings, SkillSpec, VaultConfig
from flexor_iac.project.reading import (
    CacheUse,
    Parsed,
    display_path,
    path_order,
    project_files,
    read_documents,
)
from flexor_iac.project.schema_errors import schema_diagnostics

ModelT = TypeVar("ModelT", bound=BaseModel)
NAMESPACE = f"{PULUMI_PROJECT}:"


@dataclass(frozen=True)
class SkillSource:
    """A skill file and the vault (hence tier) it belongs to."""

    path: str
    spec: SkillSpec
    vault: str
    tier: Tier


@dataclass(frozen=True)
class VaultSource:
    """A vault directory: its config, its skills and (for snapshots) every file it holds."""

    directory: str
    path: str
    config: VaultConfig
    skills: tuple[SkillSource, ...]
    folder: Path = field(compare=False, repr=False)

    @cached_property
    def _listing(self) -> tuple[dict[str, Identity], tuple[tuple[str, Refused], ...]]:
        boundary = vault_boundary(self.folder)
        files, refused = {}, []
        for path in self.folder.rglob("*"):  # does not descend into linked folders
            found, identity = identify(path, boundary, "its vault")
            name = path.relative_to(self.folder).as_posix()
            if isinstance(found, Refused):
                refused.append((name, found))
            elif found == FILE and identity is not None:
                files[name] = identity
        return dict(sorted(files.items())), tuple(sorted(refused, key=lambda item: item[0]))

    @property
    def files(self) -> tuple[str, ...]:
        """Every regular file in the vault's folder (links that stay inside it included),
        relative to it, listed when first asked: what a snapshot holds."""
        return tuple(self._listing[0])

    @property
    def identities(self) -> Mapping[str, Identity]:
        """Which file each of `files` was when listed: a snapshot reads that file or none."""
        return self._listing[0]

    @property
    def refused(self) -> tuple[tuple[str, Refused], ...]:
        """Entries never read nor copied: FIFOs, devices, links leading out of the vault."""
        return self._listing[1]


@dataclass(frozen=True)
class AgentSource:
    """An agent file."""

    path: str
    spec: AgentSpec


@dataclass(frozen=True)
class StackSource:
    """A Pulumi.<env>.yaml: its flexor settings."""

    path: str
    environment: Environment
    settings: FlexorStackSettings


@dataclass(frozen=True, eq=False)  # identity: a loaded project is one snapshot of the files
class Project:
    """Everything loaded from one project directory (only files that parsed and validated)."""

    root: Path
    default_vault: str | None
    vaults: tuple[VaultSource, ...]
    agents: tuple[AgentSource, ...]
    stacks: dict[Environment, StackSource]
    documents: dict[str, Document] = field(default_factory=dict, compare=False, repr=False)
    # Names of skill and vault files that exist but did not validate: references to them are
    # not reported again as unresolved (the file's own error says what is wrong).
    invalid_skills: frozenset[str] = frozenset()
    invalid_vaults: frozenset[str] = frozenset()

    @cached_property
    def _vaults_by_name(self) -> dict[str, VaultSource]:
        return {v.config.name: v for v in reversed(self.vaults)}  # the first of a name wins

    def vault(self, name: str) -> VaultSource | None:
        """The vault with this name, if any."""
        return self._vaults_by_name.get(name)

    def agent_vault(self, agent: AgentSpec) -> VaultSource | None:
        """The vault an agent belongs to (its `vault:` or the project default)."""
        name = agent.vault or self.default_vault
        return self.vault(name) if name else None


class _Reader:
    """Collects documents and diagnostics while the project is read."""

    def __init__(self, root: Path, parsed: Parsed) -> None:
        self.root = root
        self.parsed = parsed
        self.documents: dict[str, Document] = {}
        self.diagnostics: list[Diagnostic] = []
        self.invalid_names: dict[type[BaseModel], set[str]] = {}

    def display(self, path: Path) -> str:
        return display_path(path, self.root)

    def read(self, path: Path) -> Document | None:
        display = self.display(path)
        found = self.parsed.get(display) or read_document(path, display)
        if isinstance(found, Diagnostic):
            self.diagnostics.append(found)
            return None
        self.documents[found.path] = found
        return found

    def model(self, path: Path, model: type[ModelT]) -> ModelT | None:
        document = self.read(path)
        if document is None:
            return None
        if not isinstance(document.data, dict):
            self.diagnostics.append(document.diagnostic((), "expected a mapping at the top of "
                                                        "the file", "schema-type"))
            return None
        try:
            return model.model_validate(document.data)
        except ValidationError as error:
            self.diagnostics.extend(schema_diagnostics(document, error))
            if isinstance(name := document.data.get("name"), str):
                self.invalid_names.setdefault(model, set()).add(name)
            return None


def _flexor_keys(config: Any) -> dict[str, Any]:
    """The `flexor:`-namespaced entries of a Pulumi `config:` mapping (others are not ours)."""
    if not isinstance(config, dict):
        return {}
    return {k: v for k, v in config.items() if isinstance(k, str) and k.startswith(NAMESPACE)}


def _default_vault(reader: _Reader) -> str | None:
    document = reader.read(reader.root / "Pulumi.yaml")
    if document is None or not isinstance(document.data, dict):
        return None
    value = _flexor_keys(document.data.get("config")).get(f"{NAMESPACE}defaultVault")
    if isinstance(value, dict):  # project config may say {value: x} or {default: x}
        value = value.get("value", value.get("default"))
    return value if isinstance(value, str) else None


def _stacks(reader: _Reader) -> dict[Environment, StackSource]:
    stacks = {}
    for env in Environment:
        path = reader.root / f"Pulumi.{env.value}.yaml"
        if not path.exists():
            continue
        document = reader.read(path)
        if document is None:
            continue
        data = document.data if isinstance(document.data, dict) else {}
        keys = _flexor_keys(data.get("config"))
        try:
            settings = FlexorStackSettings.model_validate(keys)
        except ValidationError as error:
            reader.diagnostics.extend(schema_diagnostics(document, error, within=("config",)))
            continue
        stacks[env] = StackSource(document.path, env, settings)
    return stacks


def load_stack(root: Path, env: Environment) -> tuple[StackSource | None, list[Diagnostic]]:
    """Only one environment's Pulumi.<env>.yaml (for verbs that need nothing else)."""
    path = root / f"Pulumi.{env.value}.yaml"
    reader = _Reader(root, read_documents([path] if path.exists() else [], root, "off"))
    return _stacks(reader).get(env), reader.diagnostics


def _vault(reader: _Reader, directory: Path) -> VaultSource | None:
    config = reader.model(directory / "vault.json", VaultConfig)
    if config is None:
        return None
    skills = []
    for path in sorted((directory / "skills").glob("*.y*ml"), key=path_order):
        spec = reader.model(path, SkillSpec)
        if spec is not None:
            skills.append(SkillSource(reader.display(path), spec, config.name, config.tier))
    return VaultSource(directory.name, reader.display(directory / "vault.json"), config,
                       tuple(skills), directory)


def load_vault(root: Path, directory: Path) -> tuple[VaultSource | None, list[Diagnostic]]:
    """One vault from any folder under `root` (a snapshot, or the working tree)."""
    reader = _Reader(root, {})
    vault = _vault(reader, directory)
    return vault, reader.diagnostics


def with_vaults(project: Project, vaults: tuple[VaultSource, ...]) -> Project:
    """The same project with other vault contents (e.g. their deployed snapshots)."""
    return Project(project.root, project.default_vault, vaults, project.agents, project.stacks,
                   project.documents, project.invalid_skills, project.invalid_vaults)


def load_project(root: Path, cache: CacheUse = "use", parsed: Parsed | None = None
                 ) -> tuple[Project, list[Diagnostic]]:
    """Read every project file; return what loaded plus all diagnostics (schema-level only).

    `cache`: whether to reuse ("read") and keep ("use") the parse of unchanged files.
    `parsed`: the project's files already parsed (see reading.start_reading).
    """
    if parsed is None:
        parsed = read_documents(project_files(root), root, cache)
    reader = _Reader(root, parsed)
    default_vault = _default_vault(reader)
    stacks = _stacks(reader)
    vaults = []
    vault_root = root / "vaults"
    if vault_root.is_dir():
        for directory in sorted((p for p in vault_root.iterdir() if p.is_dir()), key=path_order):
            if (directory / "vault.json").exists():
                if (vault := _vault(reader, directory)) is not None:
                    vaults.append(vault)
            else:
                reader.diagnostics.append(Diagnostic(reader.display(directory), 1, 1, "error",
                                                     "vault directory has no vault.json",
                                                     "vault-missing-config"))
    agents = []
    agents_dir = root / "agents"
    for path in sorted(agents_dir.glob("*.y*ml"), key=path_order) if agents_dir.is_dir() else []:
        if (spec := reader.model(path, AgentSpec)) is not None:
            agents.append(AgentSource(reader.display(path), spec))
    project = Project(root, default_vault, tuple(vaults), tuple(agents), stacks,
                      reader.documents,
                      frozenset(reader.invalid_names.get(SkillSpec, ())),
                      frozenset(reader.invalid_names.get(VaultConfig, ())))
    return project, reader.diagnostics
