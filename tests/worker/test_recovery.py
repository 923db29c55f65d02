"""The reaper's judgement after an outage (unit tests with a scripted clock and Redis uptime)."""
from worker.recovery import Settling


class FakeRedis:
    def __init__(self, clock, uptime=10**6, stall=0.0):
        self.clock, self.uptime, self.stall = clock, uptime, stall

    def info(self, section):
        self.clock.now += self.stall  # a call that waited for an unreachable Redis
        return {"uptime_in_seconds": self.uptime}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_leases_are_judged_when_redis_has_been_up_and_reachable():
    clock = Clock()
    settling = Settling(lease_seconds=15, clock=clock)
    assert settling.settled(FakeRedis(clock))
    clock.now += 5
    assert settling.settled(FakeRedis(clock))


def test_a_restarted_redis_gets_a_grace_of_two_leases_from_its_start():
    clock = Clock()
    settling = Settling(lease_seconds=15, clock=clock)
    assert not settling.settled(FakeRedis(clock, uptime=3))
    clock.now += 20
    assert not settling.settled(FakeRedis(clock, uptime=23))
    clock.now += 8
    assert settling.settled(FakeRedis(clock, uptime=31))


def test_a_reaper_that_waited_for_redis_waits_two_more_leases():
    clock = Clock()
    settling = Settling(lease_seconds=15, clock=clock)
    assert settling.settled(FakeRedis(clock))
    assert not settling.settled(FakeRedis(clock, stall=40))  # the call itself waited 40 s
    clock.now += 29
    assert not settling.settled(FakeRedis(clock))
    clock.now += 2
    assert settling.settled(FakeRedis(clock))


def test_a_long_silence_between_passes_counts_as_an_outage():
    clock = Clock()
    settling = Settling(lease_seconds=15, clock=clock)
    assert settling.settled(FakeRedis(clock))
    clock.now += 45  # the previous pass (reap) hung on Redis
    assert not settling.settled(FakeRedis(clock))
