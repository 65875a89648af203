"""The HTTP transport against a real receiver: kept-alive connections, closed ones, long answers."""
import asyncio

import pytest

from .conftest import Reply
from assay_webhooks.core.transport import HttpTransport, PermanentError, RetryableError, Sent


def send_all(urls, *, lane="endpoint-1"):
    async def main():
        transport = HttpTransport(timeout=2, allow_private=True)
        try:
            return [await transport.send(url=url, body=b'{"n":1}', headers={"webhook-id": "w1"}, lane=lane)
                    for url in urls], transport.connections.count(lane)
        finally:
            await transport.aclose()

    return asyncio.run(main())


def test_one_endpoint_reuses_its_connection(receiver):
    # when five requests go to one endpoint one after another
    results, kept = send_all([receiver.url] * 5)
    # then one TCP connection carried them all, and it is kept for the next
    assert [r.status_code for r in results] == [200] * 5
    assert (receiver.connections, {r.connection for r in receiver.requests}, kept) == (1, {1}, 1)
    request = receiver.requests[0]
    assert (request.path, request.body) == ("/hooks/assay", b'{"n":1}')
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert {k: headers.get(k) for k in ("host", "content-type", "content-length", "user-agent", "webhook-id")} == {
        "host": f"127.0.0.1:{receiver.port}", "content-type": "application/json", "content-length": "7",
        "user-agent": "Assay-Webhooks/1", "webhook-id": "w1"}


def test_a_receiver_closing_connections_gets_a_new_one_each_time(receiver):
    receiver.default = Reply(200, headers={"Connection": "close"})
    results, kept = send_all([receiver.url] * 3)
    assert [r.status_code for r in results] == [200] * 3
    assert (receiver.connections, kept) == (3, 0)


def test_a_long_answer_is_cut_to_one_kib_and_its_connection_dropped(receiver):
    # given a receiver answering 200 KiB, then a short answer
    receiver.script(Reply(200, b"x" * 200_000))
    results, kept = send_all([receiver.url] * 2)
    # then the excerpt is 1 KiB, and the second request needed a new connection
    assert results[0] == Sent(status_code=200, latency_ms=results[0].latency_ms, excerpt="x" * 1024)
    assert results[1].excerpt == "ok"
    assert receiver.connections == 2 and kept == 1


def test_a_short_answer_body_is_read_to_its_end_so_the_connection_stays(receiver):
    receiver.script(Reply(200, b"y" * 5000))
    results, kept = send_all([receiver.url] * 2)
    assert results[0].excerpt == "y" * 1024 and receiver.connections == 1 and kept == 1


def test_a_connection_to_a_private_address_is_refused_before_anything_is_sent(receiver):
    # given a transport in production mode whose pre-send resolution was fooled (as DNS rebinding would)
    async def main():
        transport = HttpTransport(timeout=2, allow_private=False)
        transport.allow_private = True  # skip the resolution check; the connection's own check must hold
        try:
            await transport.send(url=receiver.url, body=b"{}", headers={}, lane="e")
        finally:
            await transport.aclose()

    # when it sends to 127.0.0.1
    with pytest.raises(PermanentError) as refused:
        asyncio.run(main())
    # then the connection was opened, checked, and closed without a request on it
    assert str(refused.value) == "URL refused: '127.0.0.1' connected to 127.0.0.1, which is not public"
    assert receiver.requests == []


def test_an_answer_trickling_in_for_longer_than_twice_the_timeout_is_cut_off(receiver):
    # given a receiver that answers at once but sends its body a byte every 0.3 s (the timeout is 0.5 s)
    receiver.script(Reply(200, b"abcdefgh", trickle=0.3))

    async def main():
        transport = HttpTransport(timeout=0.5, allow_private=True)
        try:
            await transport.send(url=receiver.url, body=b"{}", headers={}, lane="e")
        finally:
            await transport.aclose()

    # when it is sent, then the request ends after 1 s as retryable, though no single read took 0.5 s
    with pytest.raises(RetryableError) as timed_out:
        asyncio.run(main())
    assert str(timed_out.value) == "timed out: no complete answer within 1s"
    assert 1000 <= timed_out.value.latency_ms < 1400
