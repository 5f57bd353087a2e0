"""Check examples/docker-compose.yml without a container engine: a typo in it fails.

1. ``podman-compose config``, a real Compose implementation, parses and normalizes the file
   (YAML, interpolation, volumes, depends_on conditions).
2. Every key is one the Compose Specification defines (podman-compose ignores a misspelt
   key silently), each depends_on names a service, each network and named volume is
   declared, each bind-mounted folder exists.
3. ``podman-compose up --no-start`` turns the file into podman commands, with a stand-in
   for podman that records them and does nothing (nothing is built, pulled or created):
   the emulator's image is built from this repository's Dockerfile, its container keeps
   /data in the shared volume, answers as api.twilio.com, and has the Dockerfile's
   HEALTHCHECK command; the application mounts that volume and trusts the CA in it.

Run it from anywhere, with podman-compose 1.1 or newer on PATH (Debian bookworm's 1.0.3
cannot read service-level network aliases): ``python scripts/check_compose.py [FILE]``
(FILE: examples/docker-compose.yml by default).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "docker-compose.yml"
EMULATOR_SERVICE = "payments-emulator"
APP_SERVICE = "app"

# The Compose Specification's keys (compose-spec.io), by where they may appear.
# fmt: off
TOP_LEVEL = {"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models"}
SERVICE = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus",
    "cpuset", "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules",
    "devices", "dns", "dns_opt", "dns_search", "domainname", "driver_opts", "entrypoint",
    "env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
    "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "label_file",
    "labels", "links", "logging", "mac_address", "mem_limit", "mem_reservation",
    "mem_swappiness", "memswap_limit", "models", "network_mode", "networks",
    "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
    "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
    "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal",
    "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user",
    "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
}
BUILD = {
    "context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels",
    "cache_from", "cache_to", "no_cache", "additional_contexts", "network", "provenance",
    "sbom", "pull", "target", "shm_size", "extra_hosts", "isolation", "privileged", "secrets",
    "tags", "ulimits", "platforms",
}
HEALTHCHECK = {"disable", "interval", "retries", "test", "timeout", "start_period", "start_interval"}
DEPENDS_ON = {"condition", "restart", "required"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SERVICE_NETWORK = {
    "aliases", "interface_name", "ipv4_address", "ipv6_address", "link_local_ips",
    "mac_address", "driver_opts", "priority", "gw_priority",
}
SERVICE_VOLUME = {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"}
SERVICE_PORT = {"name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"}
VOLUME = {"name", "driver", "driver_opts", "external", "labels"}
NETWORK = {
    "name", "driver", "driver_opts", "ipam", "external", "internal", "enable_ipv4",
    "enable_ipv6", "attachable", "labels",
}
SHORT_PORT = re.compile(r"^(?:(?:[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?:\d+(?:-\d+)?:)?\d+(?:-\d+)?(?:/(?:tcp|udp|sctp))?$")
# fmt: on


class Problems(list[str]):
    def keys(self, where: str, value: Any, allowed: set[str]) -> None:
        if not isinstance(value, dict):
            self.append(f"{where}: a mapping was expected, not {type(value).__name__}")
            return
        for key in value:
            if not (isinstance(key, str) and (key in allowed or key.startswith("x-"))):
                self.append(f"{where}: {key!r} is not a Compose Specification key here")


def check_keys(compose: dict[str, Any], folder: Path) -> list[str]:
    """Misspelt keys and dangling names, which podman-compose lets through."""
    problems = Problems()
    problems.keys("top level", compose, TOP_LEVEL)
    services: dict[str, Any] = compose.get("services") or {}
    volumes: dict[str, Any] = compose.get("volumes") or {}
    networks: dict[str, Any] = compose.get("networks") or {}
    for name, network in networks.items():
        if network is not None:
            problems.keys(f"networks.{name}", network, NETWORK)
    for name, volume in volumes.items():
        if volume is not None:
            problems.keys(f"volumes.{name}", volume, VOLUME)
    for name, service in services.items():
        where = f"services.{name}"
        problems.keys(where, service, SERVICE)
        if not isinstance(service, dict):
            continue
        if isinstance(service.get("build"), dict):
            problems.keys(f"{where}.build", service["build"], BUILD)
        if "healthcheck" in service:
            health = service["healthcheck"]
            problems.keys(f"{where}.healthcheck", health, HEALTHCHECK)
            test = health.get("test") if isinstance(health, dict) else None
            if isinstance(test, list) and (not test or test[0] not in ("CMD", "CMD-SHELL", "NONE")):
                problems.append(f"{where}.healthcheck.test: must start with CMD, CMD-SHELL or NONE")
        depends_on = service.get("depends_on") or {}
        for dependency in depends_on:
            if dependency not in services:
                problems.append(f"{where}.depends_on: no service {dependency!r}")
            if isinstance(depends_on, dict):
                problems.keys(
                    f"{where}.depends_on.{dependency}", depends_on[dependency], DEPENDS_ON
                )
                condition = (depends_on[dependency] or {}).get("condition", "service_started")
                if condition not in CONDITIONS:
                    problems.append(f"{where}.depends_on.{dependency}: condition {condition!r}")
        service_networks = service.get("networks") or {}
        for network in service_networks:
            if network != "default" and network not in networks:
                problems.append(f"{where}.networks: no network {network!r} is declared")
            if isinstance(service_networks, dict) and service_networks[network] is not None:
                problems.keys(
                    f"{where}.networks.{network}", service_networks[network], SERVICE_NETWORK
                )
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                problems.keys(f"{where}.ports", port, SERVICE_PORT)
            elif not SHORT_PORT.match(str(port)):
                problems.append(f"{where}.ports: {port!r} is not a port mapping")
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict):
                problems.keys(f"{where}.volumes", mount, SERVICE_VOLUME)
                source = str(mount.get("source") or "")
            else:
                parts = str(mount).split(":")
                source = parts[0] if len(parts) > 1 else ""
            if source.startswith((".", "/", "~")):
                if not (folder / os.path.expanduser(source)).exists():
                    problems.append(f"{where}.volumes: bind source {source!r} does not exist")
            elif source and source not in volumes:
                problems.append(f"{where}.volumes: named volume {source!r} is not declared")
    return problems


STAND_IN = """#!{python}
# A stand-in for podman: records each command podman-compose runs, does nothing.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["CHECK_COMPOSE_LOG"], "a", encoding="utf-8") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["--version"]:
    print("podman version 4.3.1")
elif args[:2] == ["inspect", "-t"]:
    sys.exit(1)  # no such image yet: podman-compose then asks for its build
elif args[:1] == ["ps"] or args[:2] == ["network", "ls"]:
    print("[]")
elif args[:2] == ["volume", "inspect"]:
    print(json.dumps([{{"Name": args[-1], "Mountpoint": "/nonexistent"}}]))
"""


def podman_compose() -> str:
    """podman-compose beside this Python, else on PATH; 1.1 or newer (1.0 has no config)."""
    beside = Path(sys.executable).parent / "podman-compose"
    found = str(beside) if beside.exists() else shutil.which("podman-compose")
    if not found:
        sys.exit("check_compose: podman-compose is not installed (pip install podman-compose)")
    return found


def version_of(tool: str, env: dict[str, str]) -> tuple[int, ...]:
    out = run([tool, "--version"], env).stdout
    match = re.search(r"podman-composer? version\s+(\d+)\.(\d+)", out)
    if match is None:
        sys.exit(f"check_compose: {tool} --version printed no version: {out!r}")
    return (int(match[1]), int(match[2]))


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def option(argv: list[str], name: str) -> list[str]:
    """The values of ``name`` in ``argv`` (``--name value`` and ``--name=value``)."""
    values = [b for a, b in itertools.pairwise(argv) if a == name]
    return values + [a.split("=", 1)[1] for a in argv if a.startswith(name + "=")]


def check_commands(commands: list[list[str]]) -> list[str]:
    """What podman-compose would have podman do, against what the image needs."""
    problems: list[str] = []
    builds = [c for c in commands if c[:1] == ["build"]]
    creates = {
        label.split("=", 1)[1]: c
        for c in commands
        if c[:1] == ["create"]
        for label in option(c, "--label")
        if label.startswith("com.docker.compose.service=")
    }
    if len(builds) != 1:
        return [f"expected one podman build, podman-compose ran {len(builds)}"]
    build = builds[0]
    if build[-1] != str(REPO) or option(build, "-f") != [str(REPO / "Dockerfile")]:
        problems.append(f"the build is not of this repository's Dockerfile: {build}")
    tags = option(build, "-t")
    emulator = creates.get(EMULATOR_SERVICE)
    app = creates.get(APP_SERVICE)
    if emulator is None or app is None:
        return [*problems, f"expected containers for {EMULATOR_SERVICE} and {APP_SERVICE}"]
    if emulator[-1] not in tags:
        problems.append(f"{EMULATOR_SERVICE} runs {emulator[-1]}, not the image built ({tags})")
    mounts = option(emulator, "--mount")
    data = [m for m in mounts if m.startswith("type=volume,") and "destination=/data" in m]
    if not data:
        problems.append(f"{EMULATOR_SERVICE} keeps no volume at /data: {mounts}")
    if not any("alias=api.twilio.com" in n for n in option(emulator, "--network")):
        problems.append(f"{EMULATOR_SERVICE} is not api.twilio.com on the network")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*?\])\s*$", dockerfile, re.M | re.S)
    health = option(emulator, "--health-cmd")
    if match is None:
        problems.append("the Dockerfile has no HEALTHCHECK CMD [...]")
    elif not health or json.loads(health[0]) != json.loads(match.group(1)):
        problems.append(f"{EMULATOR_SERVICE}'s healthcheck {health} is not the Dockerfile's")
    volume = data[0].split("source=", 1)[1].split(",", 1)[0] if data else "?"
    app_mounts = option(app, "--mount")
    shared = [m for m in app_mounts if f"source={volume}," in m and "destination=" in m]
    if not shared:
        problems.append(f"{APP_SERVICE} does not mount the emulator's volume {volume}")
    else:
        ca = shared[0].split("destination=", 1)[1].split(",", 1)[0] + "/tls/ca.pem"
        if f"REQUESTS_CA_BUNDLE={ca}" not in option(app, "-e"):
            problems.append(f"{APP_SERVICE} does not trust {ca} (REQUESTS_CA_BUNDLE)")
    if not any(EMULATOR_SERVICE in r for r in option(app, "--requires")):
        problems.append(f"{APP_SERVICE} does not wait for {EMULATOR_SERVICE}")
    return problems


def main(argv: list[str]) -> int:
    compose_file = Path(argv[0]).resolve() if argv else EXAMPLE
    tool = podman_compose()
    counts = {"passed": 0, "failed": 0}

    def report(what: str, problems: list[str]) -> None:
        if problems:
            counts["failed"] += 1
            print(f"check_compose: FAIL: {what}:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        else:
            counts["passed"] += 1
            print(f"check_compose: ok: {what}", file=sys.stderr)

    try:
        return run_checks(compose_file, tool, report)
    finally:
        print(f"check_compose: {counts['passed']} passed, {counts['failed']} failed")


def run_checks(compose_file: Path, tool: str, report: Callable[[str, list[str]], None]) -> int:
    """The three checks; 1 at the first that fails."""
    with tempfile.TemporaryDirectory(prefix="check-compose.") as work:
        stand_in = Path(work) / "podman"
        stand_in.write_text(STAND_IN.format(python=sys.executable), encoding="utf-8")
        stand_in.chmod(0o755)
        log = Path(work) / "podman.log"
        env = {
            "PATH": f"{work}{os.pathsep}{os.environ.get('PATH', '')}",  # podman: the stand-in
            "HOME": os.environ.get("HOME", "/"),
            "CHECK_COMPOSE_LOG": str(log),
        }
        rel = os.path.relpath(compose_file, REPO)
        version = version_of(tool, env)
        print(f"check_compose: {tool}, version {'.'.join(map(str, version))}", file=sys.stderr)
        if version < (1, 1):
            report(
                "podman-compose 1.1 or newer",
                [
                    "1.0 has no config command and cannot read service-level network aliases:"
                    " pip install podman-compose"
                ],
            )
            return 1

        config = run([tool, "--podman-path", str(stand_in), "-f", rel, "config"], env)
        if config.returncode != 0:
            report(f"podman-compose config {rel}", [*config.stderr.strip().splitlines()[-5:]])
            return 1
        report(f"podman-compose config parses {rel}", [])

        raw = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
        problems = check_keys(raw, compose_file.parent)
        report("every key is a Compose Specification key, every name resolves", problems)
        if problems:  # (podman-compose up would create a misspelt bind-mount folder)
            return 1

        up = run([tool, "--podman-path", str(stand_in), "-f", rel, "up", "--no-start"], env)
        commands = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        if up.returncode != 0:
            problems = up.stderr.splitlines()[-5:] or [f"exit {up.returncode}"]
        else:
            problems = check_commands(commands)
        report(
            "podman-compose up --no-start, against a stand-in for podman: the build and the"
            " containers it asks for",
            problems,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
