"""CONFIG hosts for Redis Cluster: seed nodes, credentials and TLS from the first URL."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.exceptions import ConfigurationError
from gateway.layers.redis.cluster import parse_cluster_hosts


def test_urls_and_pairs_become_seeds_with_the_first_urls_credentials() -> None:
    spec = parse_cluster_hosts(
        ["rediss://app:s%40cret@10.0.0.1:7000", ("10.0.0.2", "7001"), "redis://10.0.0.3"],
        ssl_cert_reqs="none",
    )
    assert spec.seeds == (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("10.0.0.3", 6379))
    assert spec.kwargs == {
        "username": "app",
        "password": "s@cret",
        "ssl": True,
        "ssl_cert_reqs": "none",
        "ssl_check_hostname": False,
    }
    assert "s@cret" not in spec.label and "cret" not in repr(spec)
    assert spec.label == "cluster:10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:6379"


@pytest.mark.parametrize(
    ("hosts", "error"),
    [
        ([], "non-empty list"),
        ("redis://127.0.0.1:7000", "non-empty list"),
        (["redis://127.0.0.1:7000/2"], "only database 0"),
        (["unix:///tmp/redis.sock"], "unix sockets cannot form a cluster"),
        ([{"sentinels": [("h", 1)], "master_name": "m"}], "Sentinel does not apply"),
    ],
)
def test_refused_hosts_say_why(hosts: Any, error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        parse_cluster_hosts(hosts)


def test_bad_ssl_cert_reqs() -> None:
    with pytest.raises(ConfigurationError, match="ssl_cert_reqs must be one of"):
        parse_cluster_hosts(["rediss://10.0.0.1:7000"], ssl_cert_reqs="maybe")
