/* Fuzz target: the jitter buffer under random push / pop sequences.
 *
 * Input is a list of ops; time only moves forward, by up to ~65 ms per
 * op (or, rarely, by seconds).  Pushes mostly follow the previous packet
 * (small sequence steps either way, timestamps roughly a frame apart) and
 * sometimes jump anywhere, so both the reordering paths and the restarts
 * are reached.
 *
 * Checked after every pop-all: nothing due is left behind (the next
 * deadline is in the future, or nothing is held), items are well formed
 * and, while no restart or flush intervenes, contiguous in sequence; the
 * stats agree with what came out.  Some ops switch the concealment of
 * silence on and off: then LOST items also come while nothing is held,
 * and the sequence may jump after one of those.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-jitter.h"

#define MS G_GINT64_CONSTANT (1000000)
/* More pops than this in one go means the buffer loops. */
#define MAX_POPS 100000

typedef struct
{
  WzpJitter *jb;
  gint64 now;
  guint32 seq, ts;
  gboolean have_expected;
  guint32 expected_seq;
  gboolean conceal;
  gboolean jump_ok;             /* after concealed silence */
  guint64 played, lost, pushed;
} State;

static void
pop_all (State * s)
{
  WzpJitterItem item;
  guint pops = 0;
  gint64 deadline;

  while (wzp_jitter_pop (s->jb, s->now, &item)) {
    FUZZ_CHECK (++pops < MAX_POPS);
    FUZZ_CHECK (item.deadline_ns <= s->now);
    FUZZ_CHECK (item.n_packets >= 1);
    FUZZ_CHECK (item.duration_ns >= 0);
    if (item.kind == WZP_JITTER_ITEM_PACKET) {
      FUZZ_CHECK (item.n_packets == 1);
      FUZZ_CHECK (item.payload != NULL);
      /* The payload is the sequence number it was pushed with. */
      FUZZ_CHECK (g_bytes_get_size (item.payload) == sizeof (guint32));
      FUZZ_CHECK (memcmp (g_bytes_get_data (item.payload, NULL), &item.seq,
              sizeof item.seq) == 0);
      s->played++;
    } else {
      FUZZ_CHECK (item.kind == WZP_JITTER_ITEM_LOST);
      FUZZ_CHECK (item.payload == NULL);
      FUZZ_CHECK (item.n_packets <= WZP_JITTER_MAX_DROPOUT + 1);
      /* A run of lost frames always ends before a frame that is held
       * (or, concealing silence, comes while nothing is): after
       * something was played. */
      FUZZ_CHECK (s->have_expected);
      s->lost += item.n_packets;
    }
    if (s->have_expected && !s->jump_ok)
      FUZZ_CHECK (item.seq == s->expected_seq);
    s->have_expected = TRUE;
    /* After concealed silence the stream continues at its own number. */
    s->jump_ok = s->conceal && item.kind == WZP_JITTER_ITEM_LOST;
    s->expected_seq = item.seq + item.n_packets;
    wzp_jitter_item_clear (&item);
    FUZZ_CHECK (item.payload == NULL);
  }

  deadline = wzp_jitter_next_deadline (s->jb);
  FUZZ_CHECK (deadline == -1 || deadline > s->now);
}

static void
check_stats (State * s)
{
  WzpJitterStats st;

  wzp_jitter_get_stats (s->jb, &st);
  FUZZ_CHECK (st.pushed == s->pushed);
  FUZZ_CHECK (st.played == s->played);
  FUZZ_CHECK (st.lost == s->lost);
  FUZZ_CHECK (st.latency_ns == wzp_jitter_get_latency_ns (s->jb));
  FUZZ_CHECK (st.latency_ns >= 0);
  if (st.queued > 0 || !s->conceal)
    FUZZ_CHECK ((st.queued == 0) == (wzp_jitter_next_deadline (s->jb) == -1));
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  FuzzInput in;
  State s = { 0 };

  fuzz_input_init (&in, data, size);
  s.jb = wzp_jitter_new (fuzz_u8 (&in), fuzz_u16 (&in) % 2000);
  s.now = G_GINT64_CONSTANT (1000000) * MS;
  s.seq = fuzz_u32 (&in);
  s.ts = fuzz_u32 (&in);

  while (in.left > 0) {
    guint8 op = fuzz_u8 (&in);

    if (op & 0x80)
      s.now += (gint64) fuzz_u16 (&in) * MS / 1000;
    else if (op == 0x7f)
      s.now += (gint64) fuzz_u16 (&in) * MS;

    switch (op & 0x7) {
      case 0:
      case 1:
      case 2:
      case 3:{
        /* Near the last packet: step -8..+23, a frame of 0..63 ms apart,
         * the step scaled to the sequence step. */
        gint step = (gint) (fuzz_u8 (&in) & 0x1f) - 8;
        guint8 frame = fuzz_u8 (&in);
        GBytes *payload;
        WzpJitterPushResult r;

        s.seq += step;
        s.ts += (guint32) (step * (gint) (frame & 0x3f) * 48);
        payload = g_bytes_new (&s.seq, sizeof s.seq);
        r = wzp_jitter_push (s.jb, s.seq, s.ts, payload, s.now);
        g_bytes_unref (payload);
        s.pushed++;
        FUZZ_CHECK (r <= WZP_JITTER_RESET);
        if (r == WZP_JITTER_RESET)
          s.have_expected = FALSE;
        break;
      }
      case 4:{
        /* Anywhere. */
        GBytes *payload;
        WzpJitterPushResult r;

        s.seq = fuzz_u32 (&in);
        s.ts = fuzz_u32 (&in);
        payload = g_bytes_new (&s.seq, sizeof s.seq);
        r = wzp_jitter_push (s.jb, s.seq, s.ts, payload, s.now);
        g_bytes_unref (payload);
        s.pushed++;
        if (r == WZP_JITTER_RESET)
          s.have_expected = FALSE;
        break;
      }
      case 5:
        pop_all (&s);
        check_stats (&s);
        break;
      case 6:
        if (op & 0x40) {
          wzp_jitter_flush (s.jb);
          s.have_expected = FALSE;
          check_stats (&s);
          FUZZ_CHECK (wzp_jitter_next_deadline (s.jb) == -1);
        } else {
          wzp_jitter_set_latency (s.jb, fuzz_u8 (&in), fuzz_u16 (&in) % 2000);
        }
        break;
      case 7:
        if (op & 0x40) {
          s.conceal = !s.conceal;
          wzp_jitter_set_conceal_silence (s.jb, s.conceal);
        }
        (void) wzp_jitter_next_deadline (s.jb);
        break;
    }
  }
  pop_all (&s);
  check_stats (&s);
  wzp_jitter_unref (s.jb);
  return 0;
}
