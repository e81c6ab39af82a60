"""rediss:// with a self-signed certificate, as Heroku Redis serves: ssl_cert_reqs="none"."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.exceptions import ChannelLayerUnavailable
from gateway.layers.redis import RedisChannelLayer

from .conftest import RedisServer

pytestmark = pytest.mark.integration


def self_signed(directory: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redis.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


async def test_self_signed_certificate_with_ssl_cert_reqs_none(
    redis_server: Callable[..., RedisServer], tmp_path: Path
) -> None:
    server = redis_server(tls=self_signed(tmp_path))
    layer = RedisChannelLayer(hosts=[server.url], ssl_cert_reqs="none")
    name = await layer.new_channel()
    await layer.send(name, {"type": "over tls"})
    assert await layer.receive(name) == {"type": "over tls"}
    await layer.close()

    strict = RedisChannelLayer(hosts=[server.url], reconnect_timeout=0.2)  # "required"
    with pytest.raises(ChannelLayerUnavailable, match="certificate verify failed"):
        await strict.send("test.tls", {"type": "refused"})
    await strict.close()
