#!/usr/bin/env python3
"""The cluster suite (meson suite "cluster"): wzp-relay nodes on loopback
joined through a real redis-server of their own (a unix socket in a
temporary directory, no persistence, stopped at the end), and `wzp call`
parties registered at chosen nodes.  docs/CLUSTER.md describes what is
tested here.

  * TestCrossNode: a call across two nodes with media both ways, relay-only
    (both parties on the home node's media channels, the caller's run by
    its media leg) and auto; the home stopped for a second: both parties
    re-bind their channels (the caller over its media leg) and go on on
    them; ring timeout, busy, reject and an offline callee across nodes;
    one identity registered at two nodes is superseded.
  * TestRoom: a room with three members on three nodes; everyone hears
    everyone.
  * TestKillNode: kill -9 of the node hosting a relayed call (and the node
    of one party of a direct call, of the caller of a relayed call hosted
    elsewhere, and of an idle client): its clients re-register elsewhere
    within 5 s, the direct call does not notice, the relayed call's media
    is back within 5 s (on the media channels of its new home), and the
    call hosted elsewhere does not notice either (its media goes through
    the caller's media leg to the home).
  * TestRedisRestart: Redis killed mid-call and restarted: the call goes
    on; while Redis is away a call within one node works and one across
    nodes fails with cluster-unavailable; within 5 s of its return both
    nodes are back and a client that registered meanwhile is known, a
    call across nodes works, and every node and client is announced
    again.  A node that announces itself again only after another's
    first listing (stopped while Redis came back) is not taken for dead
    meanwhile.
  * TestDrain: SIGTERM drains a node: its idle client moves at once, a
    newcomer is sent on, its call goes on until hung up, then it exits.
  * TestBadBus: what is not an envelope on a node's stream is dropped and
    counted; the node works on.

Bounds catch breakage (a call that does not come back, a hang), not
performance: bench/bench-cluster.py measures.  One meson test per class.
Run one:  WZP_RELAY=build/tools/wzp-relay WZP_TOOL=build/tools/wzp \\
    python3 tests/cluster/test_cluster.py -v TestDrain
Skipped (exit 77) when redis-server is missing.
"""

import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from clusterharness import (Cluster, gap_end_after, gaps_between,  # noqa: E402
                            state_times)

# How much of what one side sent the other must have received: media is
# lost only around setup, a failover or the end.
DELIVERED = 0.8


def ms():
    return time.monotonic() * 1000.0


class ClusterCase(unittest.TestCase):
    NODES = ("a", "b", "c")
    RELAY_ARGS = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wzp-cluster-")
        self.c = Cluster(self.tmp, relay_args=self.RELAY_ARGS)
        self.c.start_redis()
        for n in self.NODES:
            self.c.start_relay(n)
        self.c.wait_nodes(len(self.NODES))

    def tearDown(self):
        reports = self.c.stop()
        if os.environ.get("WZP_KEEP_LOGS") or reports:
            print("logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [], "sanitizer reports in the logs")

    def msg(self):
        return "\n" + self.c.logs(lines=50)

    def assert_media_both_ways(self, x, y, names=("caller", "callee")):
        for (n, r, o) in ((names[0], x, y), (names[1], y, x)):
            self.assertEqual(r["state"], "ended", n + self.msg())
            self.assertIsNone(r["error"], n + self.msg())
            self.assertGreater(o["frames_sent"], 50, n + self.msg())
            self.assertGreaterEqual(r["frames_received"],
                                    DELIVERED * o["frames_sent"],
                                    n + self.msg())


class TestCrossNode(ClusterCase):
    RELAY_ARGS = ("--ring-timeout", "2")

    def call(self, policy):
        self.c.party("bob", ["b"], policy=policy, duration=6)
        self.c.party("alice", ["a"], peer="bob", policy=policy,
                     hangup_after=3)
        return self.c.report("alice"), self.c.report("bob")

    def test_relay_only(self):
        alice, bob = self.call("relay-only")
        self.assert_media_both_ways(alice, bob)
        self.assertGreater(alice["received_relay"], 50, self.msg())
        self.assertGreater(bob["received_relay"], 50, self.msg())
        # The media met at bob's node: alice opened a media leg there.
        self.assertIn("opening a media leg", self.c.log_text("alice"))
        a = self.c.relays["a"].metrics()
        b = self.c.relays["b"].metrics()
        self.assertEqual(a['wzp_relay_cluster_calls_total{direction="out"}'],
                         1, self.msg())
        self.assertEqual(b['wzp_relay_cluster_calls_total{direction="in"}'],
                         1, self.msg())
        # Both parties' media took bob's node's media port (the fast path,
        # docs/PROTOCOL.md Part A §7): alice's channel is that node's, run
        # by her media leg there.
        for n, r in (("alice", alice), ("bob", bob)):
            ch = r["relay_channel"]
            self.assertGreater(ch["sent"], 50, n + self.msg())
            self.assertGreater(ch["received"], 50, n + self.msg())
        self.assertGreater(
            b['wzp_relay_media_forwarded_packets_total{via="channel"}'], 100,
            self.msg())
        # No media crossed alice's own node, on either path.
        self.assertEqual(a["wzp_relay_datagrams_forwarded_total"], 0)
        self.assertEqual(
            a['wzp_relay_media_forwarded_packets_total{via="channel"}'], 0)
        self.assertEqual(a["wzp_relay_media_receive_bytes_total"], 0)

    def test_channel_rebind_over_leg(self):
        # The home (b) stops for a second: both channels stop answering,
        # and each party asks to bind its channel again, bob on his
        # registration, alice on her media leg (the home's only
        # connection of hers).  Both are back on the channels after.
        self.c.party("bob", ["b"], duration=14)
        self.c.party("alice", ["a"], peer="bob", hangup_after=8)
        self.c.wait_log("alice", r"^wzp call: active", timeout=10)
        time.sleep(1.5)
        b = self.c.relays["b"].proc
        b.send_signal(signal.SIGSTOP)
        try:
            time.sleep(1.0)
        finally:
            b.send_signal(signal.SIGCONT)
        alice = self.c.report("alice")
        self.c.hang_up("bob")
        bob = self.c.report("bob")
        msg = self.msg()
        for n, r, o in (("alice", alice, bob), ("bob", bob, alice)):
            self.assertIsNone(r["error"], n + msg)
            self.assertGreater(r["frames_received"], 0.5 * o["frames_sent"],
                               n + msg)
            self.assertEqual(r["relay_channel"]["state"], "up",
                             "%s: %s%s" % (n, r["relay_channel"], msg))
        log = self.c.log_text("relay-b")
        self.assertIn("%s re-binds its media channel" % self.c.fps["alice"],
                      log, msg)
        self.assertGreater(self.c.relays["b"].metrics()[
            "wzp_relay_media_rebinds_total"], 0, msg)

    def test_auto(self):
        alice, bob = self.call("auto")
        self.assert_media_both_ways(alice, bob)
        self.assertIsNotNone(alice["active_ms"], self.msg())

    def test_ring_timeout(self):
        self.c.party("bob", ["b"], answer="ask", duration=8)
        self.c.party("alice", ["a"], peer="bob", hangup_after=3)
        alice = self.c.report("alice")
        self.assertEqual(alice["state"], "failed", self.msg())
        self.assertIn("did not answer", alice["error"], self.msg())
        self.assertEqual(alice["exit"], 1)
        # Bob's phone stopped ringing and it waits again.
        self.c.wait_log("bob", r"^wzp call: waiting", count=2, timeout=5)

    def test_reject(self):
        self.c.party("bob", ["b"], answer="reject", duration=6)
        self.c.party("alice", ["a"], peer="bob", hangup_after=3)
        alice = self.c.report("alice")
        self.assertEqual(alice["state"], "failed", self.msg())
        self.assertIn("rejected", alice["error"], self.msg())

    def test_busy(self):
        self.c.party("bob", ["b"], duration=10)
        self.c.party("carol", ["c"], peer="bob", hangup_after=8)
        self.c.wait_log("carol", r"^wzp call: active", timeout=10)
        self.c.party("alice", ["a"], peer="bob", hangup_after=3)
        alice = self.c.report("alice")
        self.assertEqual(alice["state"], "failed", self.msg())
        self.assertIn("busy", alice["error"], self.msg())
        # The call bob is in went on.
        time.sleep(1.5)
        self.c.hang_up("carol")
        carol, bob = self.c.report("carol"), self.c.report("bob")
        self.assert_media_both_ways(carol, bob)

    def test_offline(self):
        self.c.identity("nobody")
        self.c.party("alice", ["a"], peer="nobody", hangup_after=3)
        alice = self.c.report("alice")
        self.assertEqual(alice["state"], "failed", self.msg())
        self.assertIn("offline", alice["error"], self.msg())

    def test_superseded(self):
        """One identity at two nodes: the older registration is
        superseded, as on one relay (exit 3: registered elsewhere)."""
        self.c.party("bob", ["b"], duration=20, name="bob-old")
        self.c.party("bob", ["c"], duration=5)
        old = self.c.report("bob-old", timeout=10)
        self.assertEqual(old["state"], "failed", self.msg())
        self.assertEqual(old["exit"], 3, self.msg())
        self.assertIn("registered elsewhere", old["error"], self.msg())
        # The new one is reachable across nodes.
        self.c.party("alice", ["a"], peer="bob", hangup_after=2)
        alice, bob = self.c.report("alice"), self.c.report("bob")
        self.assertIsNone(alice["error"], self.msg())
        self.assertGreater(alice["frames_received"], 40, self.msg())


class TestRoom(ClusterCase):
    def test_three_nodes(self):
        who = (("ann", "a"), ("ben", "b"), ("cat", "c"))
        for n, node in who:
            self.c.party(n, [node], extra=("--room", "cluster-room",
                                           "--room-open", "--duration", "6"))
        for n, _ in who:
            self.c.wait_log(n, r"room member .* joined", count=2, timeout=10)
        reports = {n: self.c.report(n) for n, _ in who}
        msg = self.msg()
        for n, r in reports.items():
            self.assertIsNone(r["error"], n + msg)
            others = {self.c.fps[m] for m, _ in who if m != n}
            # Members at the end: the others may have left already (each
            # one's --duration runs from its own start), so no strangers is
            # what holds; that everyone was there, the frames show.
            self.assertLessEqual(set(r["room_members"]), others, n + msg)
            for fp in others:
                self.assertGreater(r["room_senders"].get(fp, 0), 100,
                                   "%s from %s%s" % (n, fp, msg))
        # The room lives on one node; the others reach it with media legs.
        legs = sum(self.c.relays[n].metrics()["wzp_relay_legs"] > 0
                   for n in self.NODES)
        self.assertEqual(legs, 0, "legs close with the room" + msg)


class TestKillNode(ClusterCase):
    def test_kill(self):
        # Relayed: alice (a) calls bob (b); the call lives on b.
        self.c.party("bob", ["b", "c"], duration=30)
        self.c.party("alice", ["a", "c"], peer="bob", hangup_after=30)
        # Direct: carol (a) calls dave (b).
        self.c.party("dave", ["b", "c"], policy="auto", duration=30)
        self.c.party("carol", ["a", "c"], peer="dave", policy="auto",
                     hangup_after=30)
        # Relayed, hosted at a: frank (b) calls gina (a).
        self.c.party("gina", ["a", "c"], duration=30)
        self.c.party("frank", ["b", "c"], peer="gina", hangup_after=30)
        # Idle at b.
        self.c.party("eve", ["b", "c"], duration=30)
        self.c.wait_log("alice", r"^wzp call: active", timeout=10)
        self.c.wait_log("carol", r"^wzp call: path direct", timeout=10)
        self.c.wait_log("frank", r"^wzp call: active", timeout=10)
        time.sleep(1.0)
        t_kill = self.c.kill_relay("b") * 1000.0
        for n in ("bob", "dave"):
            self.c.wait_log(n, r"^wzp call: relay lost", timeout=8)
        self.c.wait_log("alice", r"^wzp call: relay resumed", timeout=10)
        self.c.wait_log("bob", r"^wzp call: relay resumed", timeout=10)
        self.c.wait_log("frank", r"^wzp call: relay resumed", timeout=10)
        time.sleep(1.5)
        everyone = ("alice", "bob", "carol", "dave", "eve", "frank", "gina")
        for n in everyone:
            self.c.hang_up(n)
        r = {n: self.c.report(n) for n in everyone}
        msg = self.msg()
        for n in ("alice", "bob", "carol", "dave", "frank", "gina"):
            self.assertIsNone(r[n]["error"], n + msg)
            self.assertEqual(r[n]["state"], "ended", n + msg)
        # b's clients registered at c within 5 s of the kill.
        for n in ("bob", "dave", "eve", "frank"):
            again = [t for t in state_times(r[n], "registered") if t > t_kill]
            again += [t for t in state_times(r[n], "resumed") if t > t_kill]
            self.assertTrue(again, n + msg)
            print("%s: registered again %.0f ms after the kill" % (
                n, min(again) - t_kill))
            self.assertLess(min(again) - t_kill, 5000, n + msg)
        # The relayed call's media came back within 5 s, both ways.
        for n in ("alice", "bob"):
            back = gap_end_after(r[n], t_kill)
            self.assertIsNotNone(back, n + msg)
            print("%s: media back %.0f ms after the kill" % (n, back - t_kill))
            self.assertLess(back - t_kill, 5000, "%s: media back %.0f ms "
                            "after the kill%s" % (n, back - t_kill, msg))
        # The resumed call is on the media channels of its new home again
        # (the party of another node got its channel once its media leg
        # was there), and so is the call hosted at a.
        for n in ("alice", "bob", "frank", "gina"):
            self.assertEqual(r[n]["relay_channel"]["state"], "up",
                             "%s: %s%s" % (n, r[n]["relay_channel"], msg))
        # The direct call did not notice, nor did the relayed call hosted
        # at a (frank's media leg to a never went away).
        for n in ("carol", "dave", "frank", "gina"):
            gaps = gaps_between(r[n], t_kill - 500, t_kill + 6000)
            self.assertTrue(all(g < 300 for _end, g in gaps),
                            "%s: gaps %s%s" % (n, gaps, msg))


class TestRedisRestart(ClusterCase):
    NODES = ("a", "b")

    def test_restart(self):
        self.c.party("bob", ["b"], duration=40)
        self.c.party("alice", ["a"], peer="bob", hangup_after=40)
        self.c.wait_log("alice", r"^wzp call: active", timeout=10)
        time.sleep(1.0)
        t_kill = self.c.kill_redis() * 1000.0
        # Let both nodes notice.
        time.sleep(1.5)
        # Across nodes: a clear error, at once.
        self.c.party("dave", ["b"], duration=10)
        self.c.party("carol", ["a"], peer="dave", hangup_after=2)
        carol = self.c.report("carol", timeout=10)
        self.assertEqual(carol["state"], "failed", self.msg())
        self.assertIn("cluster", carol["error"], self.msg())
        self.c.hang_up("dave")
        self.c.report("dave")
        # Within one node: fine.
        self.c.party("frank", ["a"], duration=10)
        self.c.party("gina", ["a"], peer="frank", hangup_after=2)
        gina, frank = self.c.report("gina"), self.c.report("frank")
        self.assert_media_both_ways(gina, frank)
        # A callee registers at b while Redis is away: b knows it, Redis
        # does not yet.
        self.c.party("dave", ["b"], duration=10)
        # Redis back, empty.
        self.c.start_redis()
        t_up = ms()
        ready_at = None
        while ready_at is None and ms() - t_up < 15000:
            up = all(self.c.relays[n].metrics().get(
                "wzp_relay_cluster_redis_up") == 1 for n in self.NODES)
            known = self.c.redis_cli("EXISTS", "wzp:presence:" +
                                     self.c.fps["dave"]).strip() == "1"
            if up and known:
                ready_at = ms()
            else:
                time.sleep(0.05)
        self.assertIsNotNone(ready_at, "the cluster never came back" +
                             self.msg())
        print("both nodes back and dave announced %.0f ms after Redis is "
              "back" % (ready_at - t_up))
        self.assertLess(ready_at - t_up, 5000, self.msg())
        # A call across nodes now works.
        self.c.party("carol", ["a"], peer="dave", hangup_after=1)
        carol = self.c.report("carol", timeout=10)
        self.c.hang_up("dave")
        dave = self.c.report("dave")
        self.assertIsNone(carol["error"], self.msg())
        self.assertGreater(carol["frames_received"], 10, self.msg())
        self.assertGreater(dave["frames_received"], 10, self.msg())
        # Everything is announced again: both nodes, alice and bob.
        keys = self.c.redis_cli("--scan", "--pattern", "wzp:*").split()
        self.assertEqual(len([k for k in keys if k.startswith("wzp:node:")]),
                         2, keys)
        for who in ("alice", "bob"):
            self.assertIn("wzp:presence:" + self.c.fps[who], keys)
        # The call went on all along.
        self.c.hang_up("alice")
        alice, bob = self.c.report("alice"), self.c.report("bob")
        self.assert_media_both_ways(alice, bob)
        for n, rep in (("alice", alice), ("bob", bob)):
            gaps = gaps_between(rep, t_kill, ms())
            self.assertTrue(all(g < 500 for _e, g in gaps),
                            "%s: gaps %s%s" % (n, gaps, self.msg()))


    def test_late_node_kept(self):
        self.c.party("dave", ["b"], duration=30)
        self.c.wait_log("dave", r"^wzp call: waiting", timeout=10)
        self.c.kill_redis()
        time.sleep(1.0)
        b = self.c.relays["b"].proc
        a = self.c.relays["a"]
        # b sleeps through Redis's return: a's first listing since then
        # (at once, when a reconnects) misses b, which has not written
        # its record again yet.
        b.send_signal(signal.SIGSTOP)
        try:
            self.c.start_redis()
            deadline = time.monotonic() + 10
            while a.metrics().get("wzp_relay_cluster_redis_up") != 1:
                self.assertLess(time.monotonic(), deadline,
                                "a never saw Redis again" + self.msg())
                time.sleep(0.05)
            time.sleep(0.3)
            self.assertEqual(a.metrics().get("wzp_relay_cluster_nodes"), 2,
                             "a took b for dead" + self.msg())
        finally:
            b.send_signal(signal.SIGCONT)
        # b is back: it announces itself and dave; a call across works.
        self.c.wait_nodes(2)
        deadline = time.monotonic() + 10
        while self.c.redis_cli("EXISTS", "wzp:presence:" +
                               self.c.fps["dave"]).strip() != "1":
            self.assertLess(time.monotonic(), deadline,
                            "dave was never announced again" + self.msg())
            time.sleep(0.05)
        self.c.party("carol", ["a"], peer="dave", hangup_after=1)
        carol = self.c.report("carol", timeout=10)
        self.c.hang_up("dave")
        dave = self.c.report("dave")
        self.assertIsNone(carol["error"], self.msg())
        self.assertGreater(carol["frames_received"], 10, self.msg())
        self.assertGreater(dave["frames_received"], 10, self.msg())


class TestDrain(ClusterCase):
    NODES = ("a", "b")
    RELAY_ARGS = ("--drain-timeout", "30")

    def test_drain(self):
        # The call lives on a (dave's node); eve idles at a.
        self.c.party("dave", ["a", "b"], duration=30)
        self.c.party("carol", ["b", "a"], peer="dave", hangup_after=30)
        self.c.party("eve", ["a", "b"], duration=30)
        self.c.wait_log("carol", r"^wzp call: active", timeout=10)
        t_drain = ms()
        relay_a = self.c.relays["a"].proc
        relay_a.send_signal(signal.SIGTERM)
        # eve moves at once (0x103: no waiting for a timeout).
        self.c.wait_log("eve", r"^wzp call: relay registered", count=2,
                        timeout=5)
        # A newcomer at a is sent on to b.
        self.c.party("fred", ["a", "b"], duration=5)
        time.sleep(2.0)
        self.assertIsNone(relay_a.poll(), "a exited with a call on it" +
                          self.msg())
        self.assertEqual(self.c.relays["a"].metrics()["wzp_relay_draining"],
                         1)
        t_hangup = ms()
        self.c.hang_up("carol")
        carol, dave = self.c.report("carol"), self.c.report("dave")
        self.assert_media_both_ways(carol, dave)
        # The call was not disturbed by the drain.
        for n, rep in (("carol", carol), ("dave", dave)):
            gaps = gaps_between(rep, t_drain, t_hangup - 100)
            self.assertTrue(all(g < 300 for _e, g in gaps),
                            "%s: gaps %s%s" % (n, gaps, self.msg()))
        # With its call over, a exits (0) within seconds.
        relay_a.wait(timeout=10)
        self.assertEqual(relay_a.returncode, 0, self.msg())
        self.assertLess(ms() - t_hangup, 10000)
        # eve and fred are registered at b now.
        for n in ("eve", "fred"):
            self.assertIn("the relay drains", self.c.log_text(n), self.msg())
            self.c.hang_up(n)
            rep = self.c.report(n)
            t0 = rep["start_mono_us"] / 1000.0
            states = [s for _t, s, _w in rep["relay_states"]]
            self.assertEqual(states[-1], "registered", n + self.msg())
            lost = [t0 + t for t, s, _w in rep["relay_states"] if s == "lost"]
            if lost:
                back = [t0 + t for t, s, _w in rep["relay_states"]
                        if s == "registered" and t0 + t > lost[-1]]
                self.assertLess(back[0] - lost[-1], 2000, n + self.msg())


class TestBadBus(ClusterCase):
    NODES = ("a", "b")

    def test_garbage(self):
        a = self.c.relays["a"]
        node = [k for k in self.c.redis_cli("--scan", "--pattern",
                                            "wzp:node:*").split()]
        ids = {}
        for k in node:
            rec = self.c.redis_cli("GET", k)
            ids[k.split(":")[-1]] = rec
        a_id = [i for i, rec in ids.items() if a.addr in rec][0]
        stream = "wzp:bus:" + a_id
        bad = [
            ("m", "not json"),
            ("m", '{"v":1,"kind":"teleport","from":"0000000000000000"}'),
            ("m", '{"v":2,"kind":"gone","from":"0000000000000000"}'),
            ("m", '{"v":1,"kind":"gone","from":"xyz","fp":"x"}'),
            ("m", '{"v":1,"kind":"client","from":"0000000000000000",'
                  '"fp":"0a1b:2c3d:4e5f:6071:8293:a4b5:c6d7:e8f9",'
                  '"key":"AAAA","observed":"1.2.3.4:5","nat":"eim",'
                  '"rtt_us":1,"raw":"{}"}'),
            ("other", "field"),
        ]
        for field, value in bad:
            self.c.redis_cli("XADD", stream, "*", field, value)
        time.sleep(1.5)
        m = a.metrics()
        self.assertEqual(m['wzp_relay_cluster_bus_dropped_total{reason="bad"}'],
                         len(bad), self.msg())
        # A valid-looking client request whose message is not a request is
        # refused where it is used.
        self.c.redis_cli("XADD", stream, "*", "m",
                         '{"v":1,"kind":"client","from":"0000000000000000",'
                         '"fp":"0a1b:2c3d:4e5f:6071:8293:a4b5:c6d7:e8f9",'
                         '"key":"' + "A" * 43 + '=","observed":"1.2.3.4:5",'
                         '"nat":"eim","rtt_us":1,'
                         '"raw":"{\\"v\\":1,\\"type\\":\\"register\\"}"}')
        time.sleep(0.5)
        with open(a.errpath) as f:
            self.assertIn("not routable", f.read())
        # The node works on: a call across it.
        self.c.party("bob", ["b"], duration=5)
        self.c.party("alice", ["a"], peer="bob", hangup_after=2)
        alice, bob = self.c.report("alice"), self.c.report("bob")
        self.assert_media_both_ways(alice, bob)


def main():
    if shutil.which("redis-server") is None:
        print("redis-server not installed: skipping the cluster suite")
        sys.exit(77)
    unittest.main()


if __name__ == "__main__":
    main()
