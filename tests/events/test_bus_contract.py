"""One contract for every EventBus adapter: the embedded log and a real Kafka-protocol broker."""

from riskops.events.bus import EventBus
from tests.events.support import messages, poll_quiet, poll_until


async def test_published_messages_arrive_whole_and_in_order_per_key(
    bus: EventBus, unique: str
) -> None:
    topic = f"contract.order.{unique}"
    await bus.ensure_topics([topic])
    sent = messages(topic, ["acct-a", "acct-b", "acct-c"], per_key=20)
    await bus.publish(sent)
    subscription = bus.subscribe(f"g-{unique}", [topic])
    try:
        got = await poll_until(subscription, len(sent))
    finally:
        await subscription.close()
    assert sorted((m.key, m.value) for m in got) == sorted((m.key, m.value) for m in sent)
    for message in got:
        assert message.topic == topic
        assert message.headers["n"] == message.value.decode().split(":")[1]
    for key in ("acct-a", "acct-b", "acct-c"):
        order = [int(m.value.decode().split(":")[1]) for m in got if m.key == key]
        assert order == list(range(20)), f"{key} arrived out of order"


async def test_a_group_resumes_after_its_committed_offset(bus: EventBus, unique: str) -> None:
    topic = f"contract.resume.{unique}"
    group = f"g-{unique}"
    await bus.ensure_topics([topic])
    await bus.publish(messages(topic, ["k"], per_key=10))
    first = bus.subscribe(group, [topic])
    got = await poll_until(first, 10)
    assert len(got) == 10
    await first.commit(got[:4])  # processed four, then "crashed"
    await first.close()

    second = bus.subscribe(group, [topic])
    try:
        again = await poll_until(second, 6)
        assert [m.value for m in again] == [f"k:{n}".encode() for n in range(4, 10)]
        await second.commit(again)
        assert await poll_quiet(second, 1.5) == []
    finally:
        await second.close()
    assert (await bus.lag(group, [topic]))[topic] == 0


async def test_groups_are_independent_and_lag_counts_what_is_not_committed(
    bus: EventBus, unique: str
) -> None:
    topic = f"contract.groups.{unique}"
    await bus.ensure_topics([topic])
    # One publish per message: Tansu reports a partition's end as the last *batch*'s base
    # offset + 1, so a multi-message batch would under-count lag there (Kafka counts right).
    for message in messages(topic, ["x", "y"], per_key=5):
        await bus.publish([message])
    assert (await bus.lag(f"a-{unique}", [topic]))[topic] == 10
    a = bus.subscribe(f"a-{unique}", [topic])
    try:
        got = await poll_until(a, 10)
        await a.commit(got)
    finally:
        await a.close()
    assert (await bus.lag(f"a-{unique}", [topic]))[topic] == 0
    assert (await bus.lag(f"b-{unique}", [topic]))[topic] == 10
    b = bus.subscribe(f"b-{unique}", [topic])
    try:
        assert len(await poll_until(b, 10)) == 10
    finally:
        await b.close()


async def test_one_subscription_reads_several_topics(bus: EventBus, unique: str) -> None:
    one, two = f"contract.one.{unique}", f"contract.two.{unique}"
    await bus.ensure_topics([one, two])
    await bus.publish([*messages(one, ["k"], 3), *messages(two, ["k"], 2)])
    subscription = bus.subscribe(f"g-{unique}", [one, two])
    try:
        got = await poll_until(subscription, 5)
    finally:
        await subscription.close()
    assert sorted(m.topic for m in got) == [one] * 3 + [two] * 2


async def test_an_empty_topic_returns_nothing_after_the_wait(bus: EventBus, unique: str) -> None:
    topic = f"contract.empty.{unique}"
    await bus.ensure_topics([topic])
    subscription = bus.subscribe(f"g-{unique}", [topic])
    try:
        assert await poll_quiet(subscription, 1.5) == []
    finally:
        await subscription.close()
    assert (await bus.lag(f"g-{unique}", [topic]))[topic] == 0
