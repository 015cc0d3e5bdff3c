"""scripts/setup: bad input gets one clear line naming the fix; nothing half-built is left."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.deploy import toolchain
from flexor_iac.deploy.toolchain import TOOL_FILES
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "setup"


def _fake_tool(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    tool.chmod(0o755)


def _toolchain_only(tmp_path: Path, path_dirs: list[Path]) -> subprocess.CompletedProcess[str]:
    """Run the script's toolchain step alone, with an empty cache and a controlled PATH."""
    code = textwrap.dedent(f"""
        import importlib.machinery, importlib.util, sys
        sys.dont_write_bytecode = True  # no scripts/__pycache__/ in the checkout
        loader = importlib.machinery.SourceFileLoader("setup_script", {str(SCRIPT)!r})
        spec = importlib.util.spec_from_loader("setup_script", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        module.REPO = __import__("pathlib").Path({str(tmp_path / "clone")!r})
        try:
            module.ensure_toolchain(module.new_log())
        except module.SetupError as error:
            print(f"setup: error: {{error}}", file=sys.stderr)
            sys.exit(1)
    """)
    env = {"PATH": os.pathsep.join(str(p) for p in path_dirs) + os.pathsep + "/usr/bin:/bin",
           "HOME": str(tmp_path / "home"), "FLEXOR_TOOLS_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.engine
def test_missing_go_is_one_clear_line(tmp_path: Path) -> None:
    done = _toolchain_only(tmp_path, [])
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "setup: error: `go` is not on PATH: install Go ≥ 1.26.6 to build the Pulumi CLI "
        "(or put a compatible pulumi on PATH)")


@pytest.mark.engine
def test_old_go_is_named_with_the_fix(tmp_path: Path) -> None:
    _fake_tool(tmp_path / "bin", "go", 'echo "go1.19.8"\n')
    done = _toolchain_only(tmp_path, [tmp_path / "bin"])
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "is go1.19.8, Pulumi v3.274.1 needs Go ≥ 1.26.6" in last
    assert "install a newer Go" in last


@pytest.mark.engine
def test_incompatible_pulumi_on_path_is_named_and_not_used(tmp_path: Path) -> None:
    _fake_tool(tmp_path / "old", "pulumi", 'echo "v3.100.0"\n')
    done = _toolchain_only(tmp_path, [tmp_path / "old"])
    assert "is not compatible with v3.274.1; not using it" in done.stdout
    assert "v3.100.0" in done.stdout
    assert done.returncode == 1  # it went on to need go, which this PATH lacks
    assert "`go` is not on PATH" in done.stderr


@pytest.mark.engine
def test_failed_build_shows_the_log_tail_and_leaves_nothing_half_built(tmp_path: Path) -> None:
    _fake_tool(tmp_path / "bin", "go", """
        case "$1 $2" in
          "env GOVERSION") echo go1.26.8 ;;
          "get -tool") echo "proxy said: 403 Forbidden for module X"; exit 1 ;;
          *) exit 0 ;;
        esac
    """)
    done = _toolchain_only(tmp_path, [tmp_path / "bin"])
    assert done.returncode == 1
    assert "proxy said: 403 Forbidden for module X" in done.stderr
    assert "fetching Pulumi CLI v3.274.1 modules (Go module proxy) failed (exit 1)" in done.stderr
    cache = tmp_path / "cache"
    assert not (cache / "pulumi-v3.274.1").exists()
    assert [p.name for p in cache.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.engine
def test_compatible_pulumi_on_path_is_reused(tmp_path: Path) -> None:
    for name in ("pulumi-language-python", "pulumi-language-python-exec",
                 "pulumi-resource-pulumi-python"):
        _fake_tool(tmp_path / "newer", name, "exit 0\n")
    _fake_tool(tmp_path / "newer", "pulumi", 'echo "v3.280.0"\n')
    (tmp_path / "clone").mkdir()
    done = _toolchain_only(tmp_path, [tmp_path / "newer"])
    assert done.returncode == 0, done.stderr
    assert "reusing pulumi v3.280.0 from PATH" in done.stdout
    linked = tmp_path / "clone" / ".tools" / "bin" / "pulumi"
    assert linked.resolve() == (tmp_path / "newer" / "pulumi").resolve()
    assert (tmp_path / "clone" / ".tools" / "bin" / "python3").read_text().startswith("#!/bin/sh")


def _official_release(folder: Path, version: str) -> Path:
    """What an official Pulumi release unpacks to (pulumi/actions, Pulumi's Docker images):
    `pulumi` with the Python language host and both Python shims beside it, among others."""
    others = ("pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-watch")
    for name in (*(n for n in TOOL_FILES if n != "pulumi"), *others):
        _fake_tool(folder, name, "exit 0\n")
    _fake_tool(folder, "pulumi", f'echo "v{version}"\n')
    return folder.resolve()


def _said(stdout: str) -> list[str]:
    """The set-up's lines without their elapsed-time prefix."""
    return [line.split("] ", 1)[1] for line in stdout.splitlines() if line.startswith("setup [")]


@pytest.mark.engine
def test_the_pinned_official_release_on_path_is_reused_without_go(tmp_path: Path) -> None:
    """CI installs the pinned release (pulumi/actions): set-up links it into the clone, says so
    in one line, and neither runs Go nor builds anything, though a `go` is on PATH."""
    cli = toolchain.pins()["cli"]
    release = _official_release(tmp_path / "hostedtoolcache" / "pulumi" / cli / "x64", cli)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").symlink_to(release / "pulumi")  # like /usr/local/bin/pulumi
    marker = tmp_path / "go-was-run"
    _fake_tool(tmp_path / "go-bin", "go", f'touch "{marker}"; exit 1\n')
    (tmp_path / "clone").mkdir()
    done = _toolchain_only(tmp_path, [tmp_path / "bin", tmp_path / "go-bin"])
    assert done.returncode == 0, done.stderr
    assert _said(done.stdout) == [f"reusing pulumi v{cli} from PATH ({release})",
                                  f".tools/bin -> {release} (+ python3 -> .venv)"]
    assert not marker.exists()
    tools = tmp_path / "clone" / ".tools" / "bin"
    for name in TOOL_FILES:
        assert (tools / name).resolve() == release / name
    cache = tmp_path / "cache"
    assert [p.name for p in cache.iterdir() if p.name.startswith(("pulumi-v", ".build"))] == []


@pytest.mark.engine
def test_a_pulumi_without_its_python_language_host_is_not_used(tmp_path: Path) -> None:
    cli = toolchain.pins()["cli"]
    _fake_tool(tmp_path / "bare", "pulumi", f'echo "v{cli}"\n')
    done = _toolchain_only(tmp_path, [tmp_path / "bare"])
    assert (f"pulumi v{cli} on PATH lacks the Python language host beside it; not using it"
            in done.stdout)
    assert done.returncode == 1  # it went on to build, and this PATH has no go
    assert "`go` is not on PATH" in done.stderr


def _compatibility_cases() -> list[tuple[str, bool]]:
    major, minor, patch = (int(part) for part in toolchain.pins()["cli"].split("."))
    return [(f"v{major}.{minor}.{patch}", True), (f"v{major}.{minor}.{patch + 1}", True),
            (f"v{major}.{minor + 7}.0", True), (f"v{major}.{minor - 1}.{patch}", False),
            (f"v{major + 1}.0.0", False), (f"v{major - 1}.{minor + 1}.0", False)]


@pytest.mark.parametrize("version, reused", _compatibility_cases())
def test_the_compatibility_rule_same_major_not_older(version: str, reused: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no scripts/__pycache__/ in the checkout
    loader = importlib.machinery.SourceFileLoader("setup_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader("setup_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert module.compatible(version) is reused


@pytest.mark.engine
@pytest.mark.parametrize("flags", [["--background", "--wait"], ["--nonsense"]])
def test_bad_flags_are_usage_errors(flags: list[str]) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "usage:" in done.stderr


@pytest.mark.engine
def test_a_second_setup_waits_for_the_first(tmp_path: Path) -> None:
    """Two set-ups at once: the second waits on the machine-wide lock instead of racing."""
    code = textwrap.dedent(f"""
        import importlib.machinery, importlib.util, sys, time
        sys.dont_write_bytecode = True  # no scripts/__pycache__/ in the checkout
        loader = importlib.machinery.SourceFileLoader("setup_script", {str(SCRIPT)!r})
        spec = importlib.util.spec_from_loader("setup_script", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        with module.setup_lock():
            print("locked", flush=True)
            time.sleep(float(sys.argv[1]))
        print("released", flush=True)
    """)
    env = dict(os.environ, FLEXOR_TOOLS_CACHE=str(tmp_path / "cache"))
    first = subprocess.Popen([sys.executable, "-c", code, "3"], env=env, stdout=subprocess.PIPE,
                             text=True)
    assert first.stdout is not None and first.stdout.readline().strip() == "locked"
    second = subprocess.run([sys.executable, "-c", code, "0"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    first.wait(timeout=60)
    assert "another set-up is running on this machine; waiting" in second.stdout
    assert second.stdout.strip().endswith("released")


@pytest.mark.engine
def test_python_wrapper_names_the_fix_when_the_venv_is_missing(tmp_path: Path) -> None:
    for name in ("pulumi-language-python", "pulumi-language-python-exec",
                 "pulumi-resource-pulumi-python"):
        _fake_tool(tmp_path / "newer", name, "exit 0\n")
    _fake_tool(tmp_path / "newer", "pulumi", 'echo "v3.274.1"\n')
    (tmp_path / "clone").mkdir()
    assert _toolchain_only(tmp_path, [tmp_path / "newer"]).returncode == 0
    wrapper = tmp_path / "clone" / ".tools" / "bin" / "python3"
    done = subprocess.run([str(wrapper), "-c", "print(1)"], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 127
    assert done.stderr.strip() == (f"flexor-iac: {tmp_path / 'clone' / '.venv' / 'bin' / 'python'}"
                                   " is missing: run scripts/setup (or make setup) in the clone")


def _setup_module() -> object:
    """scripts/setup loaded in this process (no bytecode written into the checkout)."""
    loader = importlib.machinery.SourceFileLoader("setup_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader("setup_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


@pytest.mark.parametrize(("root", "apt", "said"), [
    (False, "/usr/bin/apt-get", "chromium: not installed (not root)"),
    (True, None, "chromium: not installed (no apt-get)")])
def test_without_root_or_apt_chromium_is_one_line_and_set_up_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        root: bool, apt: str | None, said: str) -> None:
    module: Any = _setup_module()
    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(module.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(module.shutil, "which", lambda _name: apt)
    module.ensure_chromium(tmp_path / "setup.log")  # no exception: the set-up goes on
    out = capsys.readouterr().out
    assert said in out and "the console's browser tests will skip" in out
    assert len(out.strip().splitlines()) == 1
