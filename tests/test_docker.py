"""The image, checked without a Docker engine: the Dockerfile's facts, the compose example's
wiring, and a replay of the image's install and start commands in a fresh virtual
environment that must reach the health endpoint. (hadolint lints the Dockerfile in CI.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def env(self) -> dict[str, str]:
        return self._assignments("ENV")

    def args(self) -> dict[str, str]:
        """The stage's build arguments and their defaults."""
        return self._assignments("ARG")

    def labels(self) -> dict[str, str]:
        return self._assignments("LABEL")

    def _assignments(self, keyword: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all(keyword):
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                values[name] = value
        return values


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """ARGs before the first FROM, and the stages with their instructions."""
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        else:
            lines.append(raw.strip())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            stages.append(
                Stage(base, parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None)
            )
        elif keyword == "ARG" and not stages:
            name, _, value = rest.partition("=")
            args[name] = value
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())[1]


def test_multi_stage_on_a_pinned_slim_base(stages: list[Stage]) -> None:
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder"
    for stage in stages:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", stage.base), stage.base
    assert any("pip install" in run for run in builder.all("RUN"))
    assert not any("pip install" in run for run in final.all("RUN"))
    assert "--from=builder /opt/venv /opt/venv" in final.all("COPY")


def test_runs_as_a_non_root_user(stages: list[Stage]) -> None:
    final = stages[-1]
    [user] = final.all("USER")
    assert user.split(":")[0] not in ("root", "0")
    keys = [key for key, _ in final.instructions]
    assert keys.index("USER") < keys.index("CMD")
    assert any("useradd" in run and "10001" in run for run in final.all("RUN"))


def test_listens_everywhere_keeps_data_in_a_volume_and_exposes_its_ports(
    stages: list[Stage],
) -> None:
    final = stages[-1]
    env = final.env()
    assert env["EMULATOR_HOST"] == "0.0.0.0"
    assert env["EMULATOR_PORT"] == "8080"
    assert env["EMULATOR_DATABASE"].startswith("sqlite:////data/")
    assert env["EMULATOR_TLS_PORT"] == "443"
    assert env["EMULATOR_TLS_DIR"].startswith("/data/")
    assert "api.twilio.com" in env["EMULATOR_TLS_NAMES"].split(",")
    assert final.all("VOLUME") == ['["/data"]']
    assert set(" ".join(final.all("EXPOSE")).split()) == {"8080", "443"}


def test_configured_by_variables_only_with_a_healthcheck(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.all("CMD") == ['["payments-emulator", "serve"]']
    [healthcheck] = final.all("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["payments-emulator", "healthcheck"]')
    assert not [name for name in final.env() if name.startswith("EMULATOR") and not name.isupper()]


def test_nothing_assumes_one_architecture() -> None:
    body = "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#")
    )
    assert not re.search(r"amd64|x86_64|arm64|aarch64|--platform", body)


def test_every_dependency_comes_from_the_hash_pinned_locks(stages: list[Stage]) -> None:
    """The builder installs the build backend and the runtime dependencies from
    requirements/*.lock with --require-hashes (wheels only), then the package with no index:
    the lock must hold everything it needs (tests/test_release.py checks the locks)."""
    builder = stages[0]
    runs = " && ".join(builder.all("RUN"))
    for lock in ("requirements/build.lock", "requirements/runtime.lock"):
        assert f"--require-hashes --only-binary=:all: -r {lock}" in runs
        assert (ROOT / lock).is_file()
    installs = [part for part in runs.split("&&") if "pip install" in part]
    assert all("--require-hashes" in part or "--no-index" in part for part in installs), installs
    assert "--no-build-isolation" in runs  # the backend is the locked one, not the index's


def test_oci_labels_and_the_version_argument(stages: list[Stage]) -> None:
    builder, final = stages
    assert "VERSION" in builder.args()
    assert any('SETUPTOOLS_SCM_PRETEND_VERSION="${VERSION}"' in run for run in builder.all("RUN"))
    labels = final.labels()
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert "VERSION" in final.args()
    for name in ("title", "description", "source", "licenses"):
        assert labels[f"org.opencontainers.image.{name}"], name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert labels["org.opencontainers.image.source"] == project["urls"]["Source"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "**/*.db", "tests/node/node_modules"):
        assert entry in ignored


def test_compose_example_wiring() -> None:
    compose = yaml.safe_load((ROOT / "examples" / "docker-compose.yml").read_text())
    emulator = compose["services"]["payments-emulator"]
    app = compose["services"]["app"]
    assert emulator["healthcheck"]["test"] == ["CMD", "payments-emulator", "healthcheck"]
    assert "emulator-data:/data" in emulator["volumes"]
    assert "api.twilio.com" in emulator["networks"]["default"]["aliases"]
    assert app["depends_on"]["payments-emulator"]["condition"] == "service_healthy"
    ca = "/emulator/tls/ca.pem"
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
        assert app["environment"][variable] == ca
    assert "emulator-data:/emulator:ro" in app["volumes"]
    assert "python pay_app.py" in " ".join(app["command"])
    assert (ROOT / "examples" / "app" / "pay_app.py").exists()
    assert app["environment"]["TWILIO_ACCOUNT_SID"] == "AC" + "a" * 32


@pytest.mark.index
@pytest.mark.timeout(600)
def test_replay_the_image_install_and_start(tmp_path: Path, stages: list[Stage]) -> None:
    """The builder's COPY and RUN, then the final stage's ENV, CMD and HEALTHCHECK, on this
    machine: /opt/... and /data become temporary directories, ports become free ones, and the
    VERSION build argument is given. (Under .ci/run, whose tests have no network, pip installs
    from the locked wheels .ci/run fetched before: it sets PIP_NO_INDEX and PIP_FIND_LINKS,
    which the build's environment inherits.)"""
    builder, final = stages
    source, opt, data = tmp_path / "src", tmp_path / "opt", tmp_path / "data"
    venv = opt / "venv"
    version = "9.8.7"
    source.mkdir()
    data.mkdir()
    for copy in builder.all("COPY"):
        *paths, destination = copy.split()
        target = (
            source / destination.removeprefix("./").rstrip("/") if destination != "./" else source
        )
        for path in paths:
            origin = ROOT / path
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(origin, source / Path(path).name)

    def localize(text: str) -> str:
        return text.replace("/opt/", f"{opt}/").replace("/data", str(data))

    build_env = {**os.environ, **builder.args(), **builder.env(), "VERSION": version}
    build_env.pop("PIP_NO_CACHE_DIR")  # a cache does not change what is installed; it saves minutes
    for run in builder.all("RUN"):
        command = localize(run).replace("python -m venv", f"{sys.executable} -m venv")
        result = subprocess.run(
            command,
            shell=True,
            cwd=source,
            env=build_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    env |= {name: localize(value) for name, value in final.env().items()}
    env["PATH"] = env["PATH"].replace("$PATH", os.environ["PATH"])
    # Ports 0: the server binds free ones and prints them (no other process can take them in
    # between); the health check then gets the port the image would have configured.
    env |= {"EMULATOR_PORT": "0", "EMULATOR_TLS_PORT": "0"}
    assert env["PATH"].startswith(str(venv / "bin"))
    command = localize(final.all("CMD")[0])
    server = subprocess.Popen(
        yaml.safe_load(command),
        cwd=data,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        ports: dict[str, str] = {}
        while len(ports) < 2:
            line = server.stdout.readline()
            assert line, "the server exited before printing its addresses"
            found = re.search(r"(listening on|HTTPS on) https?://\S+:(\d+)", line)
            if found:
                ports[found.group(1)] = found.group(2)
        port, tls_port = ports["listening on"], ports["HTTPS on"]
        env["EMULATOR_PORT"] = port
        health = yaml.safe_load(final.all("HEALTHCHECK")[0].split("CMD", 1)[1])
        deadline = time.monotonic() + 30
        while True:
            check = subprocess.run(health, env=env, capture_output=True, timeout=30)
            if check.returncode == 0:
                break
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, check.stderr
            time.sleep(0.2)
        assert (data / "payments-emulator.db").exists()
        ca = data / "tls" / "ca.pem"
        assert ca.exists()
        trust = ssl.create_default_context(cafile=str(ca))
        https = httpx.get(f"https://localhost:{tls_port}/_emulator/health", verify=trust)
        assert https.status_code == 200
        assert https.json()["version"] == version  # the VERSION build argument
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout:
            server.stdout.close()
