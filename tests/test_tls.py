"""HTTPS as api.twilio.com, without Docker: the emulator serves TLS on 127.0.0.1 with its own
CA; unmodified twilio-python and twilio-node programs, whose name lookup sends api.twilio.com
to the emulator (a resolver hook loaded from the environment), trust the CA through the
environment alone and complete a payment flow. Also: the ``certs`` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from emulator.testing import EmulatorServer
from tests.api import CALLBACK, basic

ROOT = Path(__file__).resolve().parent.parent
HOOKS = Path(__file__).resolve().parent / "tls"
NODE_DIR = Path(__file__).resolve().parent / "node"
EXAMPLE_APP = ROOT / "examples" / "app" / "pay_app.py"
ACCOUNT, TOKEN = "AC" + "a" * 32, "a" * 32
HTTPS = re.compile(r"HTTPS on (https://\S+) \(CA certificate: (\S+)\)")


class TlsEmulator:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        match = HTTPS.search(server.log)
        assert match is not None, server.log
        self.https_url, self.ca = match.group(1), Path(match.group(2))
        self.port = int(self.https_url.rsplit(":", 1)[1])

    def environment(self) -> dict[str, str]:
        """What a container of the compose example gets: credentials, the CA, the alias."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "EMULATOR_"))}
        env |= {
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "REQUESTS_CA_BUNDLE": str(self.ca),
            "SSL_CERT_FILE": str(self.ca),
            "NODE_EXTRA_CA_CERTS": str(self.ca),
            "EMULATOR_RESOLVE": f"api.twilio.com:443=127.0.0.1:{self.port}",
        }
        return env


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEmulator]:
    directory = tmp_path_factory.mktemp("tls")
    with EmulatorServer(
        "--tls-port", "0", "--tls-dir", str(directory / "certs"), database=directory / "e.db"
    ) as server:
        yield TlsEmulator(server)


def test_https_and_http_share_one_state(tls_emulator: TlsEmulator) -> None:
    context = ssl.create_default_context(cafile=str(tls_emulator.ca))
    account = tls_emulator.server.control.create_account()  # over plain HTTP
    with httpx.Client(verify=context) as client:
        health = client.get(f"https://localhost:{tls_emulator.port}/_emulator/health")
        assert health.status_code == 200
        path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/CA{'1' * 32}/Payments.json"
        created = client.post(
            f"https://127.0.0.1:{tls_emulator.port}{path}",
            data={"IdempotencyKey": "tls", "StatusCallback": CALLBACK},
            headers=basic(account.account_sid, account.auth_token),
        )
    assert created.status_code == 201
    journal = tls_emulator.server.control.requests(account_sid=account.account_sid)
    assert [entry["status"] for entry in journal] == [201]


def test_certificate_names_and_trust(tls_emulator: TlsEmulator) -> None:
    server_pem = (tls_emulator.ca.parent / "server.pem").read_bytes()
    certificate = x509.load_pem_x509_certificates(server_pem)[0]
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "api.twilio.com" in names.get_values_for_type(x509.DNSName)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(f"https://localhost:{tls_emulator.port}/_emulator/health")


def test_unmodified_python_program_pays_over_https(tls_emulator: TlsEmulator) -> None:
    """The docker-compose example application, run as a plain process."""
    env = tls_emulator.environment()
    env["PYTHONPATH"] = str(HOOKS)
    env["APP_LISTEN"] = "127.0.0.1:0"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE_APP)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["result"] == "success"
    assert summary["signatures_valid"] is True
    assert summary["callbacks"] == 10
    assert summary["card"] == "xxxxxxxxxxxx4242"
    assert summary["confirmation_code"].startswith("ch_")


def test_python_program_without_the_ca_is_refused(tls_emulator: TlsEmulator) -> None:
    env = tls_emulator.environment()
    env["PYTHONPATH"] = str(HOOKS)
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        env.pop(variable)
    code = (
        "from twilio.rest import Client\n"
        f"Client('{ACCOUNT}', '{TOKEN}').calls('CA{'2' * 32}').payments.create("
        f"idempotency_key='k', status_callback='{CALLBACK}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr


@pytest.mark.node
def test_unmodified_node_program_pays_over_https(tls_emulator: TlsEmulator) -> None:
    node = shutil.which("node")
    assert node is not None
    env = tls_emulator.environment()
    env["NODE_OPTIONS"] = f"--require {NODE_DIR / 'resolve_hook.js'}"
    result = subprocess.run(
        [node, "tls_flow.js"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["result"] == "success"
    assert summary["signatures_valid"] is True
    assert summary["callbacks"] == 10


# --- the certs command -----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_certs_command_writes_a_ca_and_a_server_certificate(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = run_cli(
        "certs", "--out", str(out), "--name", "payments-emulator", "--name", "10.0.0.7"
    )
    assert result.returncode == 0, result.stderr
    assert str(out / "ca.pem") in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "server-key.pem",
        "server.pem",
    ]
    assert oct((out / "server-key.pem").stat().st_mode & 0o777) == "0o600"
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificates((out / "server.pem").read_bytes())[0]
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"api.twilio.com", "localhost", "payments-emulator"} <= set(
        names.get_values_for_type(x509.DNSName)
    )
    assert "10.0.0.7" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_certs_command_never_overwrites_without_force(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    assert run_cli("certs", "--out", str(out)).returncode == 0
    before = (out / "ca.pem").read_bytes()
    again = run_cli("certs", "--out", str(out))
    assert again.returncode != 0
    assert "already exist" in again.stderr
    assert "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert (out / "ca.pem").read_bytes() == before
    assert run_cli("certs", "--out", str(out), "--force").returncode == 0
    assert (out / "ca.pem").read_bytes() != before


def test_tls_cert_without_key_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--port", "0", "--database", "sqlite://", "--tls-cert", str(tmp_path / "x.pem")
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr
