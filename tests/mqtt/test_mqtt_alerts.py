"""Alerts over a real mosquitto: round trip, hostile payloads, flood, broker restart, auth, TLS."""

from __future__ import annotations

import asyncio
import json
import time

from opsconsole.sources.events import Alert, SourceHealth
from opsconsole.sources.mqtt_alerts import AlertMapping, AlertSource
from opsconsole.sources.mqtt_link import MqttSettings
from tests.mqtt.conftest import PASSWORD, USER, Broker, Secure
from tests.mqtt.helpers import live, publish, running


async def test_json_and_text_alerts_arrive_with_their_fields(broker: Broker) -> None:
    source = AlertSource(broker.settings())
    async with running([source]) as seen:
        await live(seen, source.id)
        await publish(
            broker.settings(),
            [
                (
                    "alerts/db",
                    json.dumps(
                        {
                            "severity": "crit",
                            "summary": "replication lag 300s",
                            "host": "db-2",
                            "ts": 1_700_000_000,
                            "name": "ReplicationLag",
                            "team": "dba",
                        }
                    ),
                ),
                ("alerts/web", "WARNING: 5xx rate above 2%\nsecond line"),
                ("not-alerts/x", "ignored"),
            ],
        )
        await seen.until(lambda: len(seen.of(Alert)) == 2)
        db, web = seen.of(Alert)
        assert (db.severity, db.summary, db.host, db.ts) == (
            "critical",
            "replication lag 300s",
            "db-2",
            1_700_000_000.0,
        )
        assert db.key == "alerts/db:ReplicationLag" and db.labels["team"] == "dba"
        assert db.origin == "alerts/db" and db.source == source.id
        assert (web.severity, web.summary) == ("warning", "WARNING: 5xx rate above 2%")


async def test_mapping_reads_nested_fields_and_host_from_topic(broker: Broker) -> None:
    mapping = AlertMapping(
        topic="monitoring/+/alerts",
        severity=("labels.severity",),
        summary=("annotations.summary",),
        host=(),
        host_level=1,
    )
    source = AlertSource(broker.settings(), mappings=[mapping])
    payload = {"labels": {"severity": "warning"}, "annotations": {"summary": "disk 91%"}}
    async with running([source]) as seen:
        await live(seen, source.id)
        await publish(broker.settings(), [("monitoring/web-3/alerts", json.dumps(payload))])
        await seen.until(lambda: seen.of(Alert))
        alert = seen.of(Alert)[0]
        assert (alert.host, alert.severity, alert.summary) == ("web-3", "warning", "disk 91%")


async def test_hostile_payloads_become_unparsed_alerts_and_the_source_stays_live(
    broker: Broker,
) -> None:
    source = AlertSource(broker.settings())
    hostile: list[tuple[str, bytes | str]] = [
        ("alerts/garbage", b"{not json at all"),
        ("alerts/huge", b"x" * (1 << 20)),
        ("alerts/binary", b"\xff\xfe\x00\x1b[31mevil"),
        ("alerts/shape", b"[1, 2, 3]"),
        ("alerts/shape2", json.dumps({"severity": 5, "nothing": "useful"})),
        ("alerts/deep", b"[" * 20_000 + b"]" * 20_000),
        ("alerts/empty", b""),
    ]
    async with running([source]) as seen:
        await live(seen, source.id)
        await publish(broker.settings(), hostile)
        await publish(broker.settings(), [("alerts/after", "INFO: still here")])
        await seen.until(lambda: any(a.origin == "alerts/after" for a in seen.of(Alert)))
        by_topic = {a.origin: a for a in seen.of(Alert)}
        reasons = {t: a.labels.get("unparsed") for t, a in by_topic.items()}
        assert reasons == {
            "alerts/garbage": "invalid JSON",
            "alerts/huge": "larger than 64 KiB",
            "alerts/binary": "not UTF-8",
            "alerts/shape": "JSON list, not an object",
            "alerts/shape2": "JSON object without a summary field",
            "alerts/deep": "invalid JSON",
            "alerts/empty": "empty",
            "alerts/after": None,
        }
        assert "\x1b" not in by_topic["alerts/binary"].summary  # shown as \x1b, never raw
        assert by_topic["alerts/huge"].summary.endswith("x" * 10)
        assert len(by_topic["alerts/huge"].summary) <= 500
        assert seen.status(source.id).state == "live"


async def test_flood_is_bounded_and_the_drops_are_counted(broker: Broker) -> None:
    source = AlertSource(broker.settings(queue=2000))
    source.rate = 1000.0
    lags: list[float] = []

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            lags.append(loop.time() - before - 0.02)

    async with running([source]) as seen:
        await live(seen, source.id)
        tick = asyncio.create_task(ticker())
        started = time.monotonic()
        await publish(broker.settings(), [("alerts/flood", f"CRIT: {i}") for i in range(10_000)])
        await seen.until(
            lambda: any(h.degraded and "dropped" in h.degraded for h in seen.of(SourceHealth))
        )
        await asyncio.sleep(1.0)
        tick.cancel()
        elapsed = time.monotonic() - started
        alerts = len(seen.of(Alert))
        assert 0 < alerts <= source.rate * (elapsed + 1)
        assert source.dropped > 0 and source.dropped + alerts <= 10_000
        assert seen.status(source.id).state == "degraded"
        assert "dropped" in (seen.status(source.id).reason or "")
        assert max(lags) < 1.0  # the loop (the UI's) kept ticking through the flood


async def test_broker_killed_and_restarted_is_reported_then_resumed(own_broker: Broker) -> None:
    source = AlertSource(own_broker.settings())
    async with running([source]) as seen:
        await live(seen, source.id)
        own_broker.kill()
        await seen.until(lambda: seen.status(source.id).state == "unavailable")
        status = seen.status(source.id)
        assert "connection lost" in (status.reason or "") or "refused" in (status.reason or "")
        assert status.retry_at is not None
        own_broker.start()
        await seen.until(lambda: seen.status(source.id).state == "live", timeout=15)
        # The subscription was restored on the new connection.
        await publish(own_broker.settings(), [("alerts/back", "CRITICAL: after restart")])
        await seen.until(lambda: any(a.origin == "alerts/back" for a in seen.of(Alert)))


async def test_wrong_password_is_one_clear_permanent_failure(secure: Secure) -> None:
    before = secure.broker.connections()
    source = AlertSource(secure.password(username=USER, password="wrong"))
    async with running([source]) as seen:
        await seen.until(lambda: seen.status(source.id).state == "unavailable")
        await asyncio.sleep(1.0)  # FAST backoff would have retried several times by now
        status = seen.status(source.id)
        assert status.retry_at is None and status.attempts == 1
        assert "refused user 'ops'" in (status.reason or "")
        assert "wrong" not in (status.reason or "")  # the password is never shown
    assert secure.broker.connections() - before == 1


async def test_right_password_and_anonymous_refused(secure: Secure) -> None:
    good = AlertSource(secure.password(username=USER, password=PASSWORD), id="good")
    anonymous = AlertSource(secure.password(), id="anonymous")
    async with running([good, anonymous]) as seen:
        await live(seen, "good")
        await seen.until(lambda: seen.status("anonymous").state == "unavailable")
        assert "refused anonymous" in (seen.status("anonymous").reason or "")
        await publish(secure.password(username=USER, password=PASSWORD), [("alerts/a", "ERROR: x")])
        await seen.until(lambda: seen.of(Alert))


async def test_tls_with_client_certificate(secure: Secure) -> None:
    settings = secure.tls(
        ca_file=secure.ca, cert_file=secure.client_cert, key_file=secure.client_key
    )
    trusted = AlertSource(settings, id="trusted")
    rogue = AlertSource(
        secure.tls(
            ca_file=secure.rogue_ca, cert_file=secure.client_cert, key_file=secure.client_key
        ),
        id="rogue",
    )
    async with running([trusted, rogue]) as seen:
        await live(seen, "trusted")
        await seen.until(lambda: seen.status("rogue").state == "unavailable")
        rogue_status = seen.status("rogue")
        assert "TLS certificate not trusted" in (rogue_status.reason or "")
        assert rogue_status.retry_at is None
        await publish(settings, [("alerts/tls", "CRITICAL: over TLS")])
        await seen.until(lambda: seen.of(Alert))
        assert seen.of(Alert)[0].summary == "CRITICAL: over TLS"


def test_url_settings_refuse_a_password_and_take_the_environment(tmp_path) -> None:
    import pytest

    from opsconsole.sources.mqtt_link import MqttConfigError

    with pytest.raises(MqttConfigError, match="visible to every user"):
        MqttSettings.from_url("mqtt://ops:pw@broker:1883", env={})
    with pytest.raises(MqttConfigError, match="expected mqtt://"):
        MqttSettings.from_url("http://broker", env={})
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    settings = MqttSettings.from_url(
        "mqtts://ops@broker",
        env={"OPSCONSOLE_MQTT_PASSWORD_FILE": str(secret), "OPSCONSOLE_MQTT_KEEPALIVE": "15"},
    )
    assert (settings.host, settings.port, settings.tls) == ("broker", 8883, True)
    assert (settings.username, settings.password, settings.keepalive) == ("ops", "from-file", 15)
    assert "from-file" not in repr(settings)
    assert settings.url == "mqtts://broker:8883"


async def test_received_queue_is_bounded_in_bytes_as_well_as_messages() -> None:
    import aiomqtt

    from opsconsole.sources.mqtt_link import dropped_by

    client = MqttSettings(queue=100, queue_bytes=3 << 20).client()
    megabyte = b"x" * (1 << 20)
    for mid in range(10):
        client._queue.put_nowait(aiomqtt.Message("alerts/big", megabyte, 0, False, mid, None))
    assert client._queue.qsize() == 3 and dropped_by(client) == 7
    client._queue.get_nowait()
    client._queue.put_nowait(aiomqtt.Message("alerts/big", megabyte, 0, False, 11, None))
    assert client._queue.qsize() == 3 and dropped_by(client) == 7
