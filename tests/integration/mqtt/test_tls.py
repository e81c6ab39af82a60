"""mqtts:// with a CA file, and user:password from MQTT_URL, against a private Mosquitto."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from adapters.mqtt.config import parse_url
from adapters.mqtt.driver import MqttDriver
from tests.conftest import missing
from tests.integration.mqtt.conftest import Mosquitto, running_adapter, until
from tests.integration.mqtt.test_adapter import Recorder, app

pytestmark = pytest.mark.integration

USER, PASSWORD = "gateway", "p@ss:word/1"


def make_certificates(directory: Path) -> None:
    """A throw-away CA and a server certificate for 127.0.0.1."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "1", "-subj", "/CN=gateway test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "1",
            "-extfile", "san.ext")  # fmt: skip


@pytest.fixture
def tls_broker(tmp_path: Path, mqtt_url: str) -> Iterator[Mosquitto]:
    for tool in ("mosquitto", "mosquitto_passwd", "openssl"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed: run `make services` (it apt-gets mosquitto)")
    make_certificates(tmp_path)
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), USER, PASSWORD], check=True)
    broker = Mosquitto(
        tmp_path,
        listener=(
            f"allow_anonymous false\npassword_file {passwords}\ncafile {tmp_path}/ca.pem\n"
            f"certfile {tmp_path}/server.pem\nkeyfile {tmp_path}/server.key\n"
        ),
    )
    broker.start()
    yield broker
    broker.stop()


async def test_tls_and_password(tls_broker: Mosquitto, root: str, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    url = (
        f"mqtts://{USER}:p%40ss%3Aword%2F1@127.0.0.1:{tls_broker.port}"
        f"?ca_certs={ca}&client_id={root}-gw&clean_start=1"
    )
    async with running_adapter(app(root), url):
        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{root}-dev")
        device.tls_set(ca_certs=str(ca))
        device.username_pw_set(USER, PASSWORD)
        device.connect("127.0.0.1", tls_broker.port)
        device.loop_start()
        try:
            for n in range(20):
                device.publish(f"{root}/secure/t", str(n), qos=1)
            await until(lambda: len(Recorder.seen["secure"]) == 20)
        finally:
            device.disconnect()
            device.loop_stop()
    assert Recorder.seen["secure"] == [str(n) for n in range(20)]


async def test_wrong_password_is_refused(tls_broker: Mosquitto, tmp_path: Path) -> None:
    url = f"mqtts://{USER}:wrong@127.0.0.1:{tls_broker.port}?ca_certs={tmp_path / 'ca.pem'}"
    driver = MqttDriver(parse_url(url), "refused-client", ["x/#"])
    never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    with pytest.raises(ConnectionRefusedError, match="broker refused"):
        await driver._connect_once(never)
    assert not driver.connected
