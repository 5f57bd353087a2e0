"""Release-ready: the version comes from the tag, a user's project installs the package and
runs a plugin test of its own, the lock files are complete, and the workflows, Dependabot,
the changelog and the docs agree with each other and with pyproject.toml."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.snippets import snippet

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
SOURCE_URL = PROJECT["urls"]["Source"]
OWNER, REPOSITORY = SOURCE_URL.removeprefix("https://github.com/").split("/")
WORKFLOWS = ROOT / ".github" / "workflows"
PYTEST_PAGE = ROOT / "docs" / "getting-started" / "pytest.md"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def wheel_version(dist: Path) -> str:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    match = re.search(r"^Version: (\S+)$", text, re.M)
    assert match is not None
    return match.group(1)


# --- the version comes from the tag ------------------------------------------------------------


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this checkout's HEAD (uncommitted changes are not in it)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the version comes from git tags")
    target = tmp_path / "clone"
    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(target), cwd=tmp_path)
    return target


def test_a_build_at_a_tag_carries_the_tag_s_version(clone: Path, tmp_path: Path) -> None:
    """What the release workflow does at a tag: python -m build (the sdist, then the wheel
    from it), then scripts/release_check.py; a commit after the tag is a .dev version."""
    changelog = clone / "CHANGELOG.md"
    text = changelog.read_text()
    # what a release does: the entries under [Unreleased] move under the version's heading
    changelog.write_text(
        text.replace("## [Unreleased]\n", "## [Unreleased]\n\n## [9.8.7] - 2030-01-02\n", 1)
    )
    unreleased = load_script("release_check").changelog_section(text, "Unreleased")
    git("commit", "--quiet", "-am", "Release 9.8.7", cwd=clone)
    git("tag", "-a", "v9.8.7", "-m", "v9.8.7", cwd=clone)
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(clone)]
    subprocess.run(build, capture_output=True, timeout=300, check=True)
    assert wheel_version(dist) == "9.8.7"
    assert (dist / "twilio_payments_emulator-9.8.7.tar.gz").exists()
    check = [sys.executable, str(ROOT / "scripts" / "release_check.py")]
    checked = subprocess.run(
        [*check, "--changelog", str(changelog), "v9.8.7", str(dist)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    notes = subprocess.run(
        [*check, "--changelog", str(changelog), "--notes", "v9.8.7"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert notes.stdout == unreleased
    # ... and refuses a tag the files were not built at
    wrong = subprocess.run(
        [*check, "--changelog", str(changelog), "v9.8.8", str(dist)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 1
    assert "not version 9.8.8" in wrong.stderr
    assert "no section '## [9.8.8]'" in wrong.stderr

    (clone / "NEXT").write_text("after the release\n")
    git("add", "NEXT", cwd=clone)
    git("commit", "--quiet", "-m", "After the release", cwd=clone)
    later = tmp_path / "later"
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*wheel, "-w", str(later), str(clone)], capture_output=True, timeout=300, check=True
    )
    assert re.fullmatch(r"9\.8\.8\.dev1\+g[0-9a-f]+", wheel_version(later)), wheel_version(later)


def test_without_git_metadata_the_version_is_the_fallback(tmp_path: Path) -> None:
    """A copy of the source with no .git (what the image build sees without its VERSION)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("emulator", "fixtures"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPTOOLS_SCM")}
    subprocess.run(
        [*wheel, "-w", str(dist), str(source)],
        env=env,
        capture_output=True,
        timeout=300,
        check=True,
    )
    assert wheel_version(dist) == PYPROJECT["tool"]["hatch"]["version"]["fallback-version"]


# --- a user's own project ------------------------------------------------------------------------


def test_the_readme_quickstart_is_the_docs_user_test() -> None:
    assert snippet("user-test", ROOT / "README.md") == snippet("user-test", PYTEST_PAGE)


@pytest.mark.index
@pytest.mark.timeout(600)
def test_a_user_project_installs_the_package_and_runs_a_plugin_test(tmp_path: Path) -> None:
    """As the docs say: a new virtual environment, the package installed from this
    repository's path (no extras) with pytest and twilio, and the test on the pytest page,
    in a project of its own (no conftest, nothing of this repository on sys.path)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], timeout=120, check=True)
    python = venv / "bin" / "python"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMULATOR_", "PAYMENTS_EMULATOR", "PYTHON", "TWILIO_"))
    }
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT), "pytest", "twilio"],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    user_test = snippet("user-test", PYTEST_PAGE)
    assert user_test.startswith("# tests/test_pay.py\n")
    (project / "tests" / "test_pay.py").write_text(user_test)
    run = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(r"^1 passed", run.stdout, re.M), run.stdout
    where = subprocess.run(
        [str(python), "-c", "import emulator; print(emulator.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed package, not ours


# --- reproducible installs -----------------------------------------------------------------------


def locked(path: Path) -> dict[str, tuple[str, str, int]]:
    """name -> (version, marker, number of hashes), from a lock made by scripts/lock."""
    pins: dict[str, tuple[str, str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(?: ; (.+?))? \\$", line)
        if pin:
            current = canonicalize_name(pin.group(1))
            pins[current] = (pin.group(2), pin.group(3) or "", 0)
        elif current and re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line):
            version, marker, hashes = pins[current]
            pins[current] = (version, marker, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            pytest.fail(f"{path.name}: a line scripts/lock does not write: {line!r}")
    return pins


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("runtime.lock", PROJECT["dependencies"]),
        ("build.lock", PYPROJECT["build-system"]["requires"]),
    ],
)
def test_a_lock_pins_every_requirement_within_its_range_with_hashes(
    lock: str, requirements: list[str]
) -> None:
    pins = locked(ROOT / "requirements" / lock)
    assert pins
    for name, (version, _, hashes) in pins.items():
        assert hashes >= 1, f"{name} has no hash"
        assert version, name
    image = default_environment() | {"sys_platform": "linux", "platform_system": "Linux"}
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(image):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} has no pin for {text} (run scripts/lock)"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (text, pins[name])


def test_the_build_lock_is_made_from_the_build_system_requirements() -> None:
    written = (ROOT / "requirements" / "build.in").read_text().split()
    assert sorted(written) == sorted(PYPROJECT["build-system"]["requires"])


# --- workflows, Dependabot, the changelog, the names ---------------------------------------------


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    [step] = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
    return step


def test_ci_runs_dot_ci_run() -> None:
    ci = workflow("ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers
    assert "push" in triggers
    [job] = ci["jobs"].values()
    assert "bash .ci/run" in runs(job)
    assert uses(job, "actions/checkout")["with"]["fetch-depth"] == 0


def test_release_on_a_v_tag_builds_tests_the_wheel_and_publishes() -> None:
    release = workflow("release.yml")
    assert release[True] == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    assert "python -m build" in runs(jobs["build"])
    assert 'scripts/release_check.py "$GITHUB_REF_NAME" dist' in runs(jobs["build"])
    assert uses(jobs["build"], "actions/checkout")["with"]["fetch-depth"] == 0
    assert "scripts/test-wheel dist" in runs(jobs["test"])
    assert set(jobs["pypi"]["needs"]) == {"build", "test"}
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    publish = uses(jobs["pypi"], "pypa/gh-action-pypi-publish")
    assert "password" not in publish.get("with", {})  # trusted publishing: no token
    image = jobs["image"]
    assert set(image["needs"]) == {"build", "test"}
    assert image["permissions"]["packages"] == "write"
    push = uses(image, "docker/build-push-action")["with"]
    assert set(push["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert push["push"] is True
    assert push["sbom"] is True
    assert push["provenance"] == "mode=max"
    assert push["build-args"] == "VERSION=${{ needs.build.outputs.version }}"
    assert push["labels"] == "${{ steps.meta.outputs.labels }}"
    meta = uses(image, "docker/metadata-action")["with"]
    assert meta["images"] == "ghcr.io/${{ github.repository }}"
    assert "release_check.py --notes" in runs(jobs["github-release"])
    assert "mkdocs build --strict" in runs(jobs["docs"])


def test_dependabot_watches_pip_npm_docker_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert {ecosystem for ecosystem, _ in watched} == {"pip", "npm", "docker", "github-actions"}
    manifests = {
        "pip": ("pyproject.toml", "runtime.lock"),
        "npm": ("package.json",),
        "docker": ("Dockerfile",),
        "github-actions": (".github",),
    }
    for ecosystem, directory in watched:
        folder = ROOT / directory.lstrip("/")
        assert any((folder / m).exists() for m in manifests[ecosystem]), (ecosystem, directory)
    for package_json in ROOT.glob("**/package.json"):
        inside = package_json.relative_to(ROOT).parts
        if not any(part == "node_modules" or part.startswith(".") for part in inside):
            where = "/" + str(package_json.parent.relative_to(ROOT))
            assert ("npm", where) in watched, f"{where} is not watched"


def test_the_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    for version, rest in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), rest
    for version, _ in headings:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, re.M), version
    release_check = load_script("release_check")
    assert release_check.changelog_section(text, "Unreleased")


def user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "mkdocs.yml", ROOT / "Dockerfile"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted((ROOT / "examples").rglob("*.yml"))
    return files


def test_the_project_s_owner_is_named_alike_everywhere() -> None:
    """pyproject.toml's Source URL names the GitHub owner; every other mention agrees."""
    pattern = re.compile(
        r"(?:github\.com/|ghcr\.io/)([\w.-]+)/([\w.-]+?)(?:\.git)?(?=[/#@:\s\"')`]|$)"
        r"|([\w-]+)\.github\.io/([\w.-]+)"
    )
    seen = 0
    for path in user_facing_files():
        for match in pattern.finditer(path.read_text()):
            owner = match.group(1) or match.group(3)
            repository = match.group(2) or match.group(4)
            if repository != REPOSITORY:
                continue  # another project (twilio's SDKs, actions...)
            seen += 1
            assert owner == OWNER, f"{path.relative_to(ROOT)}: {match.group(0)}"
    assert seen > 10
    mkdocs = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))
    assert mkdocs["repo_url"] == SOURCE_URL
    assert mkdocs["site_url"] == PROJECT["urls"]["Documentation"]


def test_the_compose_service_on_the_docs_page_uses_only_compose_keys() -> None:
    page = ROOT / "docs" / "getting-started" / "compose.md"
    compose = yaml.safe_load(snippet("compose", page))
    check_compose = load_script("check_compose")
    problems = check_compose.check_keys(compose, page.parent)
    assert problems == [], problems
    image = compose["services"]["payments-emulator"]["image"]
    assert image.startswith(f"ghcr.io/{OWNER}/{REPOSITORY}:"), image
    healthcheck = compose["services"]["payments-emulator"]["healthcheck"]["test"]
    assert healthcheck == ["CMD", "payments-emulator", "healthcheck"]
