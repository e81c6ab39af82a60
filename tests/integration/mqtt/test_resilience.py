"""Crashes and restarts: the broker restarted mid-stream, the adapter SIGKILLed mid-stream,
and two adapter processes splitting a shared subscription. Nothing may be lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.integration.mqtt.conftest import running_adapter, until
from tests.integration.mqtt.test_adapter import Recorder, app

pytestmark = pytest.mark.integration


async def test_broker_restart_mid_stream(private_broker: Any, root: str, devices: Any) -> None:
    url = f"{private_broker.url}?client_id={root}-gw"  # persistent session
    async with running_adapter(app(root), url, reconnect_max=1.0) as adapter:
        before = devices(f"{root}-before", url=private_broker.url)
        for n in range(50):
            before.publish(f"{root}/d/t", str(n))
        await until(lambda: len(Recorder.seen["d"]) >= 50)
        before.close()
        private_broker.stop()
        private_broker.start()
        # The adapter notices, reconnects and subscribes again by itself.
        await until(lambda: adapter.driver.connections == 2 and adapter.driver.ready.is_set())
        after = devices(f"{root}-after", url=private_broker.url)
        for n in range(50, 100):
            after.publish(f"{root}/d/t", str(n))
        await until(lambda: {str(n) for n in range(100)} <= set(Recorder.seen["d"]))
    # At least once: every message, before and after the restart, reached the consumer.
    assert {str(n) for n in range(100)} <= set(Recorder.seen["d"])


def processed(database: Path, root: str) -> list[tuple[str, str]]:
    """(device, payload-without-pid) rows the adapter processes stored."""
    try:
        with sqlite3.connect(database, timeout=20) as connection:
            rows = connection.execute(
                "SELECT device_id, payload FROM consumers_devicemessage WHERE topic LIKE ?",
                (f"{root}/%",),
            ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [(device, payload.rsplit("|", 1)[0]) for device, payload in rows]


def pids(database: Path) -> set[str]:
    with sqlite3.connect(database, timeout=20) as connection:
        rows = connection.execute("SELECT payload FROM consumers_devicemessage").fetchall()
    return {payload.rsplit("|", 1)[1] for (payload,) in rows}


def expected(root: str, count: int, devices: int) -> set[tuple[str, str]]:
    return {(f"d{i}", str(n)) for i in range(devices) for n in range(count)}


@pytest.mark.parametrize(
    ("qos", "options"), [(1, ""), (2, "&subscribe_qos=2"), (2, "&subscribe_qos=2&protocol=3.1.1")]
)
async def test_sigkill_mid_stream_loses_nothing(
    mqtt_url: str,
    root: str,
    devices: Any,
    adapter_processes: Any,
    tmp_path: Path,
    qos: int,
    options: str,
) -> None:
    database = tmp_path / "db.sqlite3"
    # Persistent session; at QoS 2 the PUBREC goes out only after the handler returned.
    adapter = adapter_processes(f"{mqtt_url}?client_id={root}-gw{options}")
    adapter.start()
    sender = devices(f"{root}-sender")
    # The first message waits for the subscription (QoS 1/2 is queued for the session after).
    await until(
        lambda: sender.publish(f"{root}/devices/d0/t", "0", qos) or processed(database, root)
    )
    for n in range(1, 150):
        for i in range(4):
            if (i, n) != (0, 0):
                sender.client.publish(f"{root}/devices/d{i}/t", str(n), qos=qos)
        if n == 40:
            await until(lambda: len(processed(database, root)) >= 40)
            adapter.kill()
    for i in range(1, 4):
        sender.publish(f"{root}/devices/d{i}/t", "0", qos)
    # Messages published while the adapter is dead wait in its persistent session.
    adapter.start()
    await until(lambda: expected(root, 150, 4) <= set(processed(database, root)), timeout=90)
    # Nothing lost; messages handled before the kill but not yet acknowledged came twice.
    assert expected(root, 150, 4) <= set(processed(database, root))
    assert len(processed(database, root)) >= 600


async def test_two_processes_split_a_shared_subscription(
    mqtt_url: str, root: str, devices: Any, adapter_processes: Any, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    workers = [
        adapter_processes(f"{mqtt_url}?client_id={root}-gw{i}&shared_group={root}")
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    sender = devices(f"{root}-sender")
    # Wait until both have subscribed: a probe per device lands somewhere once they are up.
    await until(
        lambda: (
            sender.publish(f"{root}/devices/probe/t", "p")
            or len({payload for device, payload in processed(database, root) if device == "probe"})
            > 0
        )
    )
    await until(lambda: len(pids(database)) == 2 or sender.publish(f"{root}/devices/probe/t", "p"))
    for n in range(200):
        for i in range(4):
            sender.client.publish(f"{root}/devices/d{i}/t", str(n), qos=1)
    await until(lambda: expected(root, 200, 4) <= set(processed(database, root)), timeout=90)
    rows = [row for row in processed(database, root) if row[0] != "probe"]
    with sqlite3.connect(database, timeout=20) as connection:
        by_pid = dict(
            connection.execute(
                "SELECT substr(payload, instr(payload, '|') + 1), count(*) FROM "
                "consumers_devicemessage WHERE device_id != 'probe' GROUP BY 1"
            ).fetchall()
        )
    assert len(rows) >= 800
    assert len(by_pid) == 2 and all(count > 0 for count in by_pid.values())
