"""The bad-file corpus: each file in corpus/ is dropped into a valid project and must produce
exactly the diagnostics in the `.expected` file beside it — located, with a rule id, and never
a traceback.

File names say where the file goes: `<case>.agent.yaml` → agents/<case>.yaml,
`<case>.skill.yaml` → vaults/company/skills/<case>.yaml, `<case>.vault.json` →
vaults/<case>/vault.json, `<case>.stack-<env>.yaml` → Pulumi.<env>.yaml,
`<case>.pulumi.yaml` → Pulumi.yaml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
BASE_OVERLAY = HERE / "corpus_base"
CASES = sorted(p for p in CORPUS.iterdir() if p.suffix != ".expected")


def destination(case: Path) -> str:
    """Where a corpus file goes in the project (see the module docstring)."""
    name, kind, _ext = case.name.split(".")
    if kind == "agent":
        return f"agents/{name}.yaml"
    if kind == "skill":
        return f"vaults/company/skills/{name}.yaml"
    if kind == "vault":
        return f"vaults/{name}/vault.json"
    if kind.startswith("stack-"):
        return f"Pulumi.{kind.removeprefix('stack-')}.yaml"
    if kind == "pulumi":
        return "Pulumi.yaml"
    raise AssertionError(f"corpus file with unknown kind: {case.name}")


@pytest.fixture
def base(project: Path) -> Path:
    """The example project plus an L3 and an L4 vault; validates clean on its own."""
    shutil.copytree(BASE_OVERLAY, project, dirs_exist_ok=True)
    return project


def validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli_main.main(["validate", "--project-dir", str(root)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, [line for line in captured.err.splitlines() if line]


def test_the_base_project_is_clean(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(base, capsys) == (ExitCode.OK, [])


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Path, base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = base / destination(case)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case, target)
    expected = (CORPUS / f"{case.name.split('.')[0]}.expected").read_text().splitlines()
    code, lines = validate(base, capsys)
    assert lines == expected
    has_error = any(": error: " in line for line in expected)
    assert code == (ExitCode.FAILED if has_error else ExitCode.OK)


def test_ten_megabyte_file(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (base / "agents" / "huge.yaml").write_bytes(b"name: huge\n" + b"# padding\n" * 1_000_000)
    code, lines = validate(base, capsys)
    assert code == ExitCode.FAILED
    assert lines == ["agents/huge.yaml:1:1: error: file is 9765 KiB; project files may be at "
                     "most 1024 KiB [file-too-large]"]


def test_vault_json_nested_100000_levels(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = 100_000
    (base / "vaults" / "desk" / "vault.json").write_text(
        '{"name": "desk", "extra": ' + "[" * levels + "]" * levels + "}")
    code, lines = validate(base, capsys)
    assert code == ExitCode.FAILED
    assert lines == ["vaults/desk/vault.json:1:90: error: nested deeper than 64 levels "
                     "[json-too-deep]"]


def test_missing_stack_file(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (base / "Pulumi.production.yaml").unlink()
    code, lines = validate(base, capsys)
    assert code == ExitCode.FAILED
    assert lines == ["Pulumi.production.yaml:1:1: error: stack file for production is missing "
                     "(create it with `config: {flexor:environment: production}`) "
                     "[stack-missing]"]
