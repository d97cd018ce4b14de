"""One emulator per test session (the same package lifeboat starts), on a
free 127.0.0.1 port, with clients that can only reach it: dummy keys, an
explicit Region, no instance metadata."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]

for key, value in {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_REGION": "us-west-2",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}.items():
    os.environ[key] = value


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, port, process):
        self.port, self.process = port, process
        self.endpoint = f"http://127.0.0.1:{port}"

    def client(self, service, region="us-west-2", key="test", endpoint=None):
        """A client with one attempt per call (the tests count throttles)."""
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=key,
            aws_secret_access_key="test",
            config=boto3.session.Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )

    def control(self, path, body=None):
        """POST to the emulator's own control API (moto's, or lifeboat's)."""
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        return json.loads(text) if text.strip().startswith(("{", "[")) else text

    def control_get(self, path):
        """GET from the emulator's own control API."""
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as r:
            return json.loads(r.read().decode())

    def reset(self):
        self.control("/moto-api/reset")


def start(env=None):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lifeboat_emulator", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
            return Emulator(port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the emulator did not start within 30 s")


@pytest.fixture(scope="session")
def _server():
    emulator = start()
    yield emulator
    emulator.process.terminate()
    emulator.process.wait(timeout=10)


@pytest.fixture
def emulator(_server):
    """The session's emulator, reset before each test, quotas off (a test of
    one behaviour should not meet another's quota)."""
    _server.reset()
    _server.control("/lifeboat-emulator/quotas", {"enabled": False})
    return _server


@pytest.fixture
def quota_emulator(_server):
    """The session's emulator, reset, with its rate quotas on."""
    _server.reset()
    _server.control("/lifeboat-emulator/quotas", {"enabled": True})
    yield _server
    _server.control("/lifeboat-emulator/quotas", {"enabled": False})
