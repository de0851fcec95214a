/* Tests for the jitter buffer, driven with made-up times: order, wrap,
 * reorder, duplicates, late packets, loss, adaptation and restarts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-jitter.h"

#define MS G_GINT64_CONSTANT (1000000)
#define FRAME 960               /* 20 ms at 48 kHz */
#define T0 (1000 * 1000 * MS)   /* an arbitrary clock origin */

static GBytes *
payload_for (guint32 seq)
{
  return g_bytes_new (&seq, sizeof seq);
}

static guint32
payload_seq (const WzpJitterItem * item)
{
  gsize len;
  const guint32 *p = g_bytes_get_data (item->payload, &len);

  g_assert_cmpuint (len, ==, sizeof (guint32));
  return *p;
}

static WzpJitterPushResult
push (WzpJitter * jb, guint32 seq, guint32 ts, gint64 now)
{
  g_autoptr (GBytes) b = payload_for (seq);
  return wzp_jitter_push (jb, seq, ts, b, now);
}

/* Pops exactly one PACKET item, now, and checks it. */
static void
expect_packet (WzpJitter * jb, gint64 now, guint32 seq, gint64 pts)
{
  WzpJitterItem item;

  g_assert_true (wzp_jitter_pop (jb, now, &item));
  g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_PACKET);
  g_assert_cmpuint (item.seq, ==, seq);
  g_assert_cmpuint (payload_seq (&item), ==, seq);
  g_assert_cmpuint (item.n_packets, ==, 1);
  if (pts >= 0)
    g_assert_cmpint (item.pts_ns, ==, pts);
  wzp_jitter_item_clear (&item);
  g_assert_null (item.payload);
}

static void
expect_nothing (WzpJitter * jb, gint64 now)
{
  WzpJitterItem item;

  g_assert_false (wzp_jitter_pop (jb, now, &item));
}

static void
test_in_order (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (60, 500);
  WzpJitterStats st;
  guint i;

  g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, -1);
  g_assert_cmpint (wzp_jitter_get_latency_ns (jb), ==, 60 * MS);
  expect_nothing (jb, T0);

  for (i = 0; i < 50; i++) {
    gint64 now = T0 + i * 20 * MS;

    g_assert_cmpint (push (jb, 100 + i, 5000 + i * FRAME, now), ==,
        WZP_JITTER_QUEUED);
    /* Perfect network: each frame is due exactly latency after arrival. */
    if (i >= 3) {
      g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, now - 3 * 20 * MS
          + 60 * MS);
      expect_nothing (jb, now - 1);
      expect_packet (jb, now, 100 + i - 3, (i - 3) * 20 * MS);
    }
    expect_nothing (jb, now);
  }
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.pushed, ==, 50);
  g_assert_cmpuint (st.played, ==, 47);
  g_assert_cmpuint (st.queued, ==, 3);
  g_assert_cmpuint (st.lost + st.late + st.duplicates + st.resets, ==, 0);
  g_assert_cmpint (st.jitter_ns, ==, 0);
  g_assert_cmpint (st.latency_ns, ==, 60 * MS);
}

/* Sequence numbers and timestamps both wrap during the stream. */
static void
test_wraparound (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (40, 500);
  guint32 seq0 = G_MAXUINT32 - 9;
  guint32 ts0 = G_MAXUINT32 - 5 * FRAME + 17;
  WzpJitterStats st;
  guint i;

  for (i = 0; i < 30; i++) {
    gint64 now = T0 + i * 20 * MS;

    /* Swap each pair: reordering across the wrap too. */
    guint j = (i % 2 == 0 && i + 1 < 30) ? i + 1 : (i % 2 ? i - 1 : i);
    g_assert_cmpint (push (jb, seq0 + j, ts0 + j * FRAME, now), ==,
        WZP_JITTER_QUEUED);
  }
  for (i = 0; i < 30; i++)
    expect_packet (jb, T0 + 10000 * MS, seq0 + i, i * 20 * MS);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.played, ==, 30);
  g_assert_cmpuint (st.lost + st.late + st.resets, ==, 0);
}

static void
test_reorder_and_duplicate (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (60, 500);
  WzpJitterStats st;
  gint64 t = T0;

  g_assert_cmpint (push (jb, 10, 0, t), ==, WZP_JITTER_QUEUED);
  g_assert_cmpint (push (jb, 12, 2 * FRAME, t + 40 * MS), ==,
      WZP_JITTER_QUEUED);
  g_assert_cmpint (push (jb, 11, 1 * FRAME, t + 41 * MS), ==,
      WZP_JITTER_QUEUED);
  g_assert_cmpint (push (jb, 12, 2 * FRAME, t + 42 * MS), ==,
      WZP_JITTER_DUPLICATE);
  g_assert_cmpint (push (jb, 10, 0, t + 43 * MS), ==, WZP_JITTER_DUPLICATE);
  /* Before anything played, an earlier packet still goes first. */
  g_assert_cmpint (push (jb, 9, (guint32) - FRAME, t + 44 * MS), ==,
      WZP_JITTER_QUEUED);

  expect_packet (jb, t + 1000 * MS, 9, 0);
  expect_packet (jb, t + 1000 * MS, 10, 20 * MS);
  expect_packet (jb, t + 1000 * MS, 11, 40 * MS);
  expect_packet (jb, t + 1000 * MS, 12, 60 * MS);
  expect_nothing (jb, t + 1000 * MS);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.duplicates, ==, 2);
  g_assert_cmpuint (st.played, ==, 4);
}

static void
test_loss (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (60, 500);
  WzpJitterItem item;
  WzpJitterStats st;
  gint64 due2;

  push (jb, 0, 0, T0);
  push (jb, 1, FRAME, T0 + 20 * MS);
  /* 2 never comes; 3 and 4 do. */
  push (jb, 3, 3 * FRAME, T0 + 60 * MS);
  push (jb, 4, 4 * FRAME, T0 + 80 * MS);

  expect_packet (jb, T0 + 60 * MS, 0, 0);
  expect_packet (jb, T0 + 80 * MS, 1, 20 * MS);
  due2 = T0 + 100 * MS;
  g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, due2);
  expect_nothing (jb, due2 - 1);

  g_assert_true (wzp_jitter_pop (jb, due2, &item));
  g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
  g_assert_cmpuint (item.seq, ==, 2);
  g_assert_cmpuint (item.timestamp, ==, 2 * FRAME);
  g_assert_cmpuint (item.n_packets, ==, 1);
  g_assert_cmpuint (item.duration_samples, ==, FRAME);
  g_assert_cmpint (item.duration_ns, ==, 20 * MS);
  g_assert_cmpint (item.pts_ns, ==, 40 * MS);
  g_assert_null (item.payload);
  wzp_jitter_item_clear (&item);

  /* Too late now. */
  g_assert_cmpint (push (jb, 2, 2 * FRAME, due2 + 1 * MS), ==, WZP_JITTER_LATE);
  expect_nothing (jb, due2 + 1 * MS);
  /* 3 was due at +120 ms, but the late packet made the latency grow. */
  expect_nothing (jb, T0 + 120 * MS);
  expect_packet (jb, T0 + 122 * MS, 3, 60 * MS);

  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.lost, ==, 1);
  g_assert_cmpuint (st.late, ==, 1);
  /* Coming late raised the latency by at least its lateness. */
  g_assert_cmpint (st.latency_ns, >=, 61 * MS);
}

/* A run of missing frames comes out as one LOST item once all are due, or
 * piecewise as each becomes due. */
static void
test_burst_loss (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (40, 40);
  WzpJitterItem item;

  push (jb, 0, 0, T0);
  push (jb, 6, 6 * FRAME, T0 + 120 * MS);
  expect_packet (jb, T0 + 40 * MS, 0, 0);
  /* Frames 1 and 2 are due at +60 and +80 ms. */
  g_assert_true (wzp_jitter_pop (jb, T0 + 80 * MS, &item));
  g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
  g_assert_cmpuint (item.seq, ==, 1);
  g_assert_cmpuint (item.n_packets, ==, 2);
  g_assert_cmpint (item.duration_ns, ==, 40 * MS);
  expect_nothing (jb, T0 + 80 * MS);
  /* The rest (3, 4, 5) at once, much later. */
  g_assert_true (wzp_jitter_pop (jb, T0 + 500 * MS, &item));
  g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
  g_assert_cmpuint (item.seq, ==, 3);
  g_assert_cmpuint (item.n_packets, ==, 3);
  g_assert_cmpuint (item.timestamp, ==, 3 * FRAME);
  expect_packet (jb, T0 + 500 * MS, 6, 120 * MS);
}

static void
test_adapts_to_jitter (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (20, 400);
  WzpJitterStats st;
  WzpJitterItem item;
  gint64 peak, later;
  guint i;

  /* Frames every 20 ms, delayed by 0 or 50 ms in turn. */
  for (i = 0; i < 100; i++) {
    gint64 now = T0 + i * 20 * MS + ((i % 2) ? 50 * MS : 0);

    push (jb, i, i * FRAME, now);
    while (wzp_jitter_pop (jb, now, &item))
      wzp_jitter_item_clear (&item);
  }
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpint (st.jitter_ns, >, 30 * MS);
  g_assert_cmpint (st.latency_ns, >, 100 * MS);
  g_assert_cmpint (st.latency_ns, <=, 400 * MS);
  peak = st.latency_ns;

  /* A calm network: the latency comes down, slowly. */
  for (; i < 150; i++) {
    gint64 now = T0 + i * 20 * MS + 50 * MS;

    push (jb, i, i * FRAME, now);
    while (wzp_jitter_pop (jb, now, &item))
      wzp_jitter_item_clear (&item);
  }
  wzp_jitter_get_stats (jb, &st);
  later = st.latency_ns;
  g_assert_cmpint (later, <, peak);
  g_assert_cmpint (later, >, peak / 2);

  for (; i < 3000; i++) {
    gint64 now = T0 + i * 20 * MS + 50 * MS;

    push (jb, i, i * FRAME, now);
    while (wzp_jitter_pop (jb, now, &item))
      wzp_jitter_item_clear (&item);
  }
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpint (st.latency_ns, <, 25 * MS);
  g_assert_cmpint (st.latency_ns, >=, 20 * MS);

  /* The bounds hold. */
  wzp_jitter_set_latency (jb, 30, 35);
  g_assert_cmpint (wzp_jitter_get_latency_ns (jb), ==, 30 * MS);
}

static void
test_reset_on_jump (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (40, 400);
  WzpJitterStats st;

  push (jb, 100, 0, T0);
  push (jb, 101, FRAME, T0 + 20 * MS);
  expect_packet (jb, T0 + 40 * MS, 100, 0);

  g_assert_cmpint (push (jb, 100 + 20000, 777, T0 + 40 * MS), ==,
      WZP_JITTER_RESET);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.resets, ==, 1);
  g_assert_cmpuint (st.queued, ==, 1);  /* 101 dropped, the new one held */
  /* The new stream starts at pts 0. */
  expect_packet (jb, T0 + 80 * MS, 100 + 20000, 0);

  /* Backwards by a lot is a restart too, not a late packet. */
  g_assert_cmpint (push (jb, 5, 0, T0 + 100 * MS), ==, WZP_JITTER_RESET);
  /* A small step back after playing is late, not a restart. */
  expect_packet (jb, T0 + 140 * MS, 5, 0);
  g_assert_cmpint (push (jb, 4, 0, T0 + 150 * MS), ==, WZP_JITTER_LATE);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.resets, ==, 2);
  g_assert_cmpuint (st.late, ==, 1);

  wzp_jitter_flush (jb);
  g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, -1);
  g_assert_cmpint (push (jb, 4, 0, T0 + 200 * MS), ==, WZP_JITTER_QUEUED);
}

/* An outage: with silence concealed, LOST items go on at the frame rate
 * while nothing arrives (so a recording stays in real time), and the
 * stream continues afterwards: late packets for concealed time are
 * dropped, the first newer one plays, whatever its sequence number. */
static void
test_conceal_silence (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (40, 500);
  WzpJitterItem item;
  WzpJitterStats st;
  gint64 now = T0;
  guint concealed = 0, items = 0;

  wzp_jitter_set_conceal_silence (jb, TRUE);
  /* Before anything played there is nothing to conceal. */
  g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, -1);
  for (guint i = 0; i < 5; i++)
    push (jb, i, i * FRAME, T0 + i * 20 * MS);
  for (guint i = 0; i < 5; i++)
    expect_packet (jb, T0 + i * 20 * MS + 40 * MS, i, i * 20 * MS);

  /* 1 s without packets: one frame's slot at a time, in real time. */
  for (now = T0 + 80 * MS; now < T0 + 1080 * MS; now += 5 * MS) {
    gint64 dl = wzp_jitter_next_deadline (jb);
    g_assert_cmpint (dl, >, now - 20 * MS);
    while (wzp_jitter_pop (jb, now, &item)) {
      g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
      g_assert_cmpint (item.deadline_ns, <=, now);
      concealed += item.n_packets;
      items++;
      wzp_jitter_item_clear (&item);
    }
  }
  /* Frames 5.. were due at 140, 160, ... ms: 47 of them by 1075 ms. */
  g_assert_cmpuint (concealed, ==, 47);
  g_assert_cmpuint (items, ==, 47);

  /* A packet from the outage (its time was concealed): late.  The
   * sender's sequence went on meanwhile: seq 60 at 1.2 s plays. */
  g_assert_cmpint (push (jb, 30, 30 * FRAME, now), ==, WZP_JITTER_LATE);
  g_assert_cmpint (push (jb, 60, 60 * FRAME, T0 + 1200 * MS), ==,
      WZP_JITTER_QUEUED);
  /* Until it is due, the silence goes on. */
  g_assert_true (wzp_jitter_pop (jb, T0 + 1100 * MS, &item));
  g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
  concealed += item.n_packets;
  wzp_jitter_item_clear (&item);
  while (wzp_jitter_pop (jb, T0 + 1239 * MS, &item)) {
    g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
    concealed += item.n_packets;
    wzp_jitter_item_clear (&item);
  }
  expect_packet (jb, T0 + 1240 * MS, 60, -1);
  push (jb, 61, 61 * FRAME, T0 + 1220 * MS);
  expect_packet (jb, T0 + 1260 * MS, 61, -1);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.lost, ==, concealed);
  g_assert_cmpuint (st.late, ==, 1);

  /* A sender that does not count frames it did not send (DTX): the
   * sequence continues from where it stopped, the time has moved on. */
  for (now = T0 + 1260 * MS; now < T0 + 1500 * MS; now += 20 * MS)
    while (wzp_jitter_pop (jb, now, &item))
      wzp_jitter_item_clear (&item);
  g_assert_cmpint (push (jb, 62, 80 * FRAME, T0 + 1600 * MS), ==,
      WZP_JITTER_QUEUED);
  while (wzp_jitter_pop (jb, T0 + 1639 * MS, &item)) {
    g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
    wzp_jitter_item_clear (&item);
  }
  expect_packet (jb, T0 + 1640 * MS, 62, -1);

  /* Without concealment, silence produces nothing. */
  wzp_jitter_set_conceal_silence (jb, FALSE);
  expect_nothing (jb, T0 + 5000 * MS);
  g_assert_cmpint (wzp_jitter_next_deadline (jb), ==, -1);
}

/* A hiccup longer than the latency delays the whole stream: packets 3..
 * come 100 ms late and stay that late.  The silence concealed their time,
 * so each one alone looks late; the jitter buffer must start again from
 * the stream where it now is (and grow its latency), or nothing would be
 * played again.  (Seen with wzpsrc: every frame "late" after an 80 ms
 * stall at the start of a call.) */
static void
test_resume_behind_silence (void)
{
  g_autoptr (WzpJitter) jb = wzp_jitter_new (60, 500);
  WzpJitterItem item;
  WzpJitterStats st;
  gint64 now;
  guint played = 0, lost = 0;

  wzp_jitter_set_conceal_silence (jb, TRUE);
  for (guint i = 0; i < 3; i++)
    push (jb, i, i * FRAME, T0 + i * 20 * MS);
  for (guint i = 0; i < 3; i++)
    expect_packet (jb, T0 + i * 20 * MS + 60 * MS, i, i * 20 * MS);
  /* Nothing for a while: concealed, in real time. */
  for (now = T0 + 60 * MS; now <= T0 + 160 * MS; now += 5 * MS)
    while (wzp_jitter_pop (jb, now, &item)) {
      g_assert_cmpint (item.kind, ==, WZP_JITTER_ITEM_LOST);
      wzp_jitter_item_clear (&item);
    }
  /* The stream goes on, 100 ms late: the first packet starts it again. */
  g_assert_cmpint (push (jb, 3, 3 * FRAME, T0 + 160 * MS), ==,
      WZP_JITTER_RESET);
  for (guint i = 4; i < 50; i++) {
    g_assert_cmpint (push (jb, i, i * FRAME, T0 + (i * 20 + 100) * MS), ==,
        WZP_JITTER_QUEUED);
    for (now = T0 + (i * 20 + 100) * MS; wzp_jitter_pop (jb, now, &item);) {
      if (item.kind == WZP_JITTER_ITEM_PACKET)
        played++;
      else
        lost += item.n_packets;
      wzp_jitter_item_clear (&item);
    }
  }
  g_assert_cmpuint (played, >=, 40);
  g_assert_cmpuint (lost, ==, 0);
  wzp_jitter_get_stats (jb, &st);
  g_assert_cmpuint (st.resets, ==, 1);
  /* The latency grew by what the hiccup showed. */
  g_assert_cmpint (wzp_jitter_get_latency_ns (jb), >, 60 * MS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jitter/in-order", test_in_order);
  g_test_add_func ("/jitter/wraparound", test_wraparound);
  g_test_add_func ("/jitter/reorder-and-duplicate", test_reorder_and_duplicate);
  g_test_add_func ("/jitter/loss", test_loss);
  g_test_add_func ("/jitter/burst-loss", test_burst_loss);
  g_test_add_func ("/jitter/adapts-to-jitter", test_adapts_to_jitter);
  g_test_add_func ("/jitter/reset-on-jump", test_reset_on_jump);
  g_test_add_func ("/jitter/conceal-silence", test_conceal_silence);
  g_test_add_func ("/jitter/resume-behind-silence", test_resume_behind_silence);
  return g_test_run ();
}
