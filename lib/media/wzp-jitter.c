/* wzp — adaptive jitter buffer with explicit time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-jitter.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_jitter

#define NSEC_PER_SEC G_GINT64_CONSTANT (1000000000)
#define NSEC_PER_MSEC G_GINT64_CONSTANT (1000000)

/* target latency = JITTER_MULTIPLIER x jitter, within [min, max] */
#define JITTER_MULTIPLIER 4
/* Each packet moves the latency 1/DECAY of the way down to its target. */
#define LATENCY_DECAY 256
/* Each packet moves the base delay 1/BASE_RISE of the way up to its transit
 * (down is immediate): follows a sender clock slower than ours. */
#define BASE_RISE 4096
/* Frame lengths believed: 2.5 ms to 120 ms (Opus). */
#define MIN_FRAME_SAMPLES 120
#define MAX_FRAME_SAMPLES 5760

typedef struct
{
  gint64 seq;                   /* extended */
  gint64 ts;                    /* extended */
  gint64 arrival_ns;
  GBytes *payload;
} Slot;

struct _WzpJitter
{
  gint ref_count;

  gint64 min_latency_ns;
  gint64 max_latency_ns;
  gint64 latency_ns;

  GQueue queue;                 /* Slot *, ascending seq */

  gboolean started;             /* a packet seen since (re)start */
  gboolean playing;             /* something handed out since (re)start */
  gint64 next_seq;              /* next to hand out, when playing */
  gint64 last_seq, last_ts;     /* last handed out (PACKET or LOST) */
  gboolean last_was_packet;

  gint64 max_seq, max_seq_ts;   /* unwrapping references */
  gint64 ref_ts;                /* media-time origin for timing */
  gint64 pts_base_ts;           /* media-time origin for pts */
  gint64 base_delay_ns;         /* smallest transit seen, slowly rising */

  gboolean have_prev;           /* previous arrival, for the estimator */
  gint64 prev_arrival_ns, prev_ts;
  gdouble jitter_ns;

  guint32 frame_samples;

  /* wzp_jitter_set_conceal_silence(): while nothing arrives, LOST items
   * go on in real time; @in_silence once one was handed out (the next
   * packet then restarts the sequence). */
  gboolean conceal_silence;
  gboolean in_silence;

  WzpJitterStats stats;
};

static inline gint64
samples_to_ns (gint64 samples)
{
  /* Split so a long call cannot overflow 64 bits. */
  return samples / WZP_JITTER_CLOCK_RATE * NSEC_PER_SEC +
      samples % WZP_JITTER_CLOCK_RATE * NSEC_PER_SEC / WZP_JITTER_CLOCK_RATE;
}

static void
slot_free (Slot * slot)
{
  if (slot->payload)
    g_bytes_unref (slot->payload);
  g_free (slot);
}

static void
clamp_latency (WzpJitter * jb)
{
  jb->latency_ns = CLAMP (jb->latency_ns, jb->min_latency_ns,
      jb->max_latency_ns);
}

/**
 * WzpJitter:
 *
 * An adaptive jitter buffer with explicit time.  Reference-counted; not
 * thread-safe: one thread at a time.
 */
G_DEFINE_BOXED_TYPE (WzpJitter, wzp_jitter, wzp_jitter_ref, wzp_jitter_unref);

/**
 * wzp_jitter_new:
 * @min_latency_ms: the latency never goes below this; it starts here
 * @max_latency_ms: nor above this (raised to @min_latency_ms if smaller)
 *
 * Returns: (transfer full): an empty jitter buffer.
 */
WzpJitter *
wzp_jitter_new (guint min_latency_ms, guint max_latency_ms)
{
  WzpJitter *jb = g_new0 (WzpJitter, 1);

  jb->ref_count = 1;
  g_queue_init (&jb->queue);
  jb->frame_samples = WZP_JITTER_DEFAULT_FRAME_SAMPLES;
  wzp_jitter_set_latency (jb, min_latency_ms, max_latency_ms);
  jb->latency_ns = jb->min_latency_ns;
  return jb;
}

/**
 * wzp_jitter_ref:
 * @jb: a jitter buffer
 *
 * Returns: (transfer full): @jb
 */
WzpJitter *
wzp_jitter_ref (WzpJitter * jb)
{
  g_return_val_if_fail (jb != NULL, NULL);
  g_atomic_int_inc (&jb->ref_count);
  return jb;
}

/**
 * wzp_jitter_unref:
 * @jb: (transfer full): a jitter buffer
 *
 * Drops a reference; the last one frees the buffer and what it holds.
 */
void
wzp_jitter_unref (WzpJitter * jb)
{
  g_return_if_fail (jb != NULL);
  if (!g_atomic_int_dec_and_test (&jb->ref_count))
    return;
  g_queue_clear_full (&jb->queue, (GDestroyNotify) slot_free);
  g_free (jb);
}

/**
 * wzp_jitter_set_latency:
 * @jb: a jitter buffer
 * @min_latency_ms: the lowest latency
 * @max_latency_ms: the highest (raised to @min_latency_ms if smaller)
 *
 * Changes the bounds; the current latency is clamped into them.
 */
void
wzp_jitter_set_latency (WzpJitter * jb, guint min_latency_ms,
    guint max_latency_ms)
{
  g_return_if_fail (jb != NULL);

  jb->min_latency_ns = (gint64) min_latency_ms *NSEC_PER_MSEC;
  jb->max_latency_ns = (gint64) MAX (min_latency_ms, max_latency_ms) *
      NSEC_PER_MSEC;
  clamp_latency (jb);
  WZP_DEBUG ("latency bounds %u..%u ms, now %" G_GINT64_FORMAT " ns",
      min_latency_ms, MAX (min_latency_ms, max_latency_ms), jb->latency_ns);
}

/**
 * wzp_jitter_get_latency_ns:
 * @jb: a jitter buffer
 *
 * Returns: the current target latency: how long after its earliest
 * possible arrival a frame is played.
 */
gint64
wzp_jitter_get_latency_ns (WzpJitter * jb)
{
  g_return_val_if_fail (jb != NULL, 0);
  return jb->latency_ns;
}

/* Drops everything held and forgets the stream; keeps stats, latency and
 * the jitter estimate (the network did not change). */
static void
restart (WzpJitter * jb)
{
  g_queue_clear_full (&jb->queue, (GDestroyNotify) slot_free);
  jb->started = FALSE;
  jb->playing = FALSE;
  jb->have_prev = FALSE;
  jb->last_was_packet = FALSE;
  jb->in_silence = FALSE;
}

/**
 * wzp_jitter_set_conceal_silence:
 * @jb: a jitter buffer
 * @conceal: whether to conceal silence
 *
 * With %TRUE, once something was played, a stream that stops arriving
 * (nothing held) keeps producing LOST items, one frame length each, at
 * the times its next frames were due: the consumer's timeline (GAP
 * events, a recording) goes on in real time through an outage.  The
 * first packet after such a silence continues the stream at its own
 * sequence number; one whose slot was already concealed is late.
 * Default %FALSE: LOST items only for holes before a held packet.
 */
void
wzp_jitter_set_conceal_silence (WzpJitter * jb, gboolean conceal)
{
  g_return_if_fail (jb != NULL);
  jb->conceal_silence = conceal;
}

/**
 * wzp_jitter_flush:
 * @jb: a jitter buffer
 *
 * Drops everything held; the next packet starts a new stream (pts 0).
 */
void
wzp_jitter_flush (WzpJitter * jb)
{
  g_return_if_fail (jb != NULL);
  WZP_DEBUG ("flushing %u packets", jb->queue.length);
  restart (jb);
}

static inline gint64
deadline_for_ts (WzpJitter * jb, gint64 ext_ts)
{
  return samples_to_ns (ext_ts - jb->ref_ts) + jb->base_delay_ns +
      jb->latency_ns;
}

static void
update_estimators (WzpJitter * jb, gint64 ext_ts, gint64 now_ns)
{
  gint64 transit = now_ns - samples_to_ns (ext_ts - jb->ref_ts);
  gint64 desired;

  /* Base delay: the smallest transit, rising slowly. */
  if (transit < jb->base_delay_ns)
    jb->base_delay_ns = transit;
  else
    jb->base_delay_ns += (transit - jb->base_delay_ns) / BASE_RISE;

  /* RFC 3550 section 6.4.1: J += (|D| - J) / 16 */
  if (jb->have_prev) {
    gint64 d = (now_ns - jb->prev_arrival_ns) -
        samples_to_ns (ext_ts - jb->prev_ts);

    jb->jitter_ns += ((gdouble) ABS (d) - jb->jitter_ns) / 16.0;
  }
  jb->have_prev = TRUE;
  jb->prev_arrival_ns = now_ns;
  jb->prev_ts = ext_ts;

  desired = (gint64) (JITTER_MULTIPLIER * jb->jitter_ns);
  desired = CLAMP (desired, jb->min_latency_ns, jb->max_latency_ns);
  if (desired > jb->latency_ns) {
    WZP_LOG ("latency up %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
        " ns (jitter %.0f ns)", jb->latency_ns, desired, jb->jitter_ns);
    jb->latency_ns = desired;
  } else {
    jb->latency_ns -= (jb->latency_ns - desired) / LATENCY_DECAY;
  }
}

static void
start (WzpJitter * jb, gint64 ext_seq, gint64 ext_ts, gint64 now_ns)
{
  jb->started = TRUE;
  jb->playing = FALSE;
  jb->max_seq = ext_seq;
  jb->max_seq_ts = ext_ts;
  jb->ref_ts = ext_ts;
  jb->pts_base_ts = ext_ts;
  jb->base_delay_ns = now_ns;
  jb->have_prev = FALSE;
}

/**
 * wzp_jitter_push:
 * @jb: the buffer
 * @seq: the packet's sequence number
 * @timestamp: its media timestamp, 48 kHz units
 * @payload: (transfer none) (nullable): the frame; the buffer takes a ref
 * @now_ns: arrival time on the caller's clock
 *
 * Returns: what became of the packet.
 */
WzpJitterPushResult
wzp_jitter_push (WzpJitter * jb, guint32 seq, guint32 timestamp,
    GBytes * payload, gint64 now_ns)
{
  WzpJitterPushResult result = WZP_JITTER_QUEUED;
  gint64 ext_seq, ext_ts;
  Slot *slot;
  GList *l;

  g_return_val_if_fail (jb != NULL, WZP_JITTER_LATE);

  jb->stats.pushed++;

  if (!jb->started) {
    start (jb, seq, timestamp, now_ns);
    ext_seq = seq;
    ext_ts = timestamp;
  } else {
    ext_seq = jb->max_seq + (gint32) (seq - (guint32) jb->max_seq);
    if (ABS (ext_seq - jb->max_seq) > WZP_JITTER_MAX_DROPOUT) {
      WZP_INFO ("sequence jump %u -> %u: restarting",
          (guint32) jb->max_seq, seq);
      jb->stats.resets++;
      restart (jb);
      start (jb, seq, timestamp, now_ns);
      ext_seq = seq;
      ext_ts = timestamp;
      result = WZP_JITTER_RESET;
    } else {
      ext_ts = jb->max_seq_ts + (gint32) (timestamp - (guint32) jb->max_seq_ts);
    }
  }

  if (jb->in_silence && result != WZP_JITTER_RESET && ext_ts <= jb->last_ts
      && ext_seq == jb->max_seq + 1) {
    /* The packet right after the newest we had, in a time the silence
     * already covered: not a straggler, the stream itself resumed behind
     * (a hiccup longer than the latency delayed everything after it).
     * Left alone, every packet from now on would come "after its
     * concealed slot" and nothing would be played again.  Start again
     * from this packet, with the latency grown by what the hiccup
     * showed. */
    gint64 lateness = now_ns - deadline_for_ts (jb, ext_ts);

    WZP_DEBUG ("stream resumed %" G_GINT64_FORMAT " ns behind the concealed "
        "time at seq %u: restarting", lateness, seq);
    if (lateness > 0) {
      jb->latency_ns += lateness;
      clamp_latency (jb);
    }
    jb->stats.resets++;
    restart (jb);
    start (jb, seq, timestamp, now_ns);
    ext_seq = seq;
    ext_ts = timestamp;
    result = WZP_JITTER_RESET;
  }

  if (jb->in_silence && result != WZP_JITTER_RESET) {
    /* Concealed silence covered the time up to last_ts, whatever the
     * sequence numbers: a packet for that time is late, the first one
     * after it continues the stream from its own number. */
    if (ext_ts <= jb->last_ts) {
      jb->stats.late++;
      WZP_LOG ("packet seq %u came after its concealed slot", seq);
      /* Remember the newest, so that the one after it, if it comes as
       * late, is known for the stream resuming behind (above). */
      if (ext_seq > jb->max_seq) {
        jb->max_seq = ext_seq;
        jb->max_seq_ts = ext_ts;
      }
      return WZP_JITTER_LATE;
    }
    gint64 slots = MAX (1, (ext_ts - jb->last_ts + jb->frame_samples / 2) /
        jb->frame_samples);

    WZP_DEBUG ("silence ended by seq %u (expected %u)", seq,
        (guint32) jb->next_seq);
    jb->in_silence = FALSE;
    if (slots > WZP_JITTER_MAX_DROPOUT) {
      /* Too far in the future to be the same stream. */
      WZP_INFO ("silence ended %" G_GINT64_FORMAT " frames later: "
          "restarting", slots);
      jb->stats.resets++;
      restart (jb);
      start (jb, seq, timestamp, now_ns);
      ext_seq = seq;
      ext_ts = timestamp;
      result = WZP_JITTER_RESET;
    } else {
      /* Number the slots between the concealed time and this packet so
       * that they are concealed on time too, like any gap. */
      jb->last_seq = ext_seq - slots;
      jb->next_seq = jb->last_seq + 1;
      jb->last_was_packet = FALSE;
    }
  }

  if (jb->playing && ext_seq < jb->next_seq) {
    gint64 lateness = now_ns - deadline_for_ts (jb, ext_ts);

    jb->stats.late++;
    WZP_LOG ("late packet seq %u, %" G_GINT64_FORMAT " ns after its slot",
        seq, lateness);
    /* Coming after its slot means the latency was too short for this
     * network: cover it now, the estimator will decay it later. */
    if (lateness > 0) {
      jb->latency_ns += lateness;
      clamp_latency (jb);
    }
    return WZP_JITTER_LATE;
  }

  /* Find the place from the tail: packets mostly come in order. */
  for (l = jb->queue.tail; l; l = l->prev) {
    Slot *s = l->data;

    if (s->seq == ext_seq) {
      jb->stats.duplicates++;
      WZP_LOG ("duplicate packet seq %u", seq);
      return WZP_JITTER_DUPLICATE;
    }
    if (s->seq < ext_seq)
      break;
  }

  if (ext_seq > jb->max_seq) {
    jb->max_seq = ext_seq;
    jb->max_seq_ts = ext_ts;
  }
  if (!jb->playing && ext_ts < jb->pts_base_ts)
    jb->pts_base_ts = ext_ts;

  update_estimators (jb, ext_ts, now_ns);

  slot = g_new0 (Slot, 1);
  slot->seq = ext_seq;
  slot->ts = ext_ts;
  slot->arrival_ns = now_ns;
  slot->payload = payload ? g_bytes_ref (payload) : NULL;
  if (l)
    g_queue_insert_after (&jb->queue, l, slot);
  else
    g_queue_push_head (&jb->queue, slot);

  WZP_TRACE ("queued seq %u ts %u, %u held, due %" G_GINT64_FORMAT, seq,
      timestamp, jb->queue.length, deadline_for_ts (jb, ext_ts));
  return result;
}

/* The media step per sequence number between the last frame handed out
 * and @head; the frame length when that makes no sense. */
static gint64
gap_step (WzpJitter * jb, Slot * head)
{
  gint64 dseq = head->seq - jb->last_seq;
  gint64 step;

  if (dseq <= 0)
    return jb->frame_samples;
  step = (head->ts - jb->last_ts) / dseq;
  if (step < MIN_FRAME_SAMPLES || step > MAX_FRAME_SAMPLES)
    return jb->frame_samples;
  return step;
}

/* If the head is due (or the frames missing before it are), fills @out. */
/* Most frames one concealed-silence item covers: a consumer that comes
 * back late (or a clock that jumps) gets a few long items, not one per
 * frame. */
#define MAX_SILENCE_FRAMES WZP_JITTER_MAX_DROPOUT

/* Nothing held while playing: the frames due by now never came. */
static gboolean
next_silence (WzpJitter * jb, gint64 now_ns, WzpJitterItem * out, gboolean take)
{
  gint64 step = jb->frame_samples;
  gint64 dl = deadline_for_ts (jb, jb->last_ts + step);
  gint64 k;

  if (now_ns < dl || !take) {
    if (out)
      out->deadline_ns = dl;
    return FALSE;
  }
  for (k = 1; k < MAX_SILENCE_FRAMES; k++)
    if (deadline_for_ts (jb, jb->last_ts + (k + 1) * step) > now_ns)
      break;
  memset (out, 0, sizeof *out);
  out->kind = WZP_JITTER_ITEM_LOST;
  out->seq = (guint32) jb->next_seq;
  out->timestamp = (guint32) (jb->last_ts + step);
  out->n_packets = k;
  out->duration_samples = k * step;
  out->pts_ns = samples_to_ns (jb->last_ts + step - jb->pts_base_ts);
  out->duration_ns = samples_to_ns (k * step);
  out->deadline_ns = dl;
  jb->last_ts += k * step;
  jb->last_was_packet = FALSE;
  jb->in_silence = TRUE;
  jb->stats.lost += k;
  WZP_LOG ("silence: %" G_GINT64_FORMAT " frames concealed", k);
  return TRUE;
}

static gboolean
next_item (WzpJitter * jb, gint64 now_ns, WzpJitterItem * out, gboolean take)
{
  Slot *head = g_queue_peek_head (&jb->queue);
  gint64 step, dl;
  gint64 k, n;

  if (!head) {
    if (jb->conceal_silence && jb->playing)
      return next_silence (jb, now_ns, out, take);
    return FALSE;
  }

  if (!jb->playing || head->seq == jb->next_seq) {
    dl = deadline_for_ts (jb, head->ts);
    if (now_ns < dl || !take)
      goto pending;

    g_queue_pop_head (&jb->queue);
    if (jb->playing && jb->last_was_packet && head->seq == jb->last_seq + 1) {
      gint64 d = head->ts - jb->last_ts;
      if (d >= MIN_FRAME_SAMPLES && d <= MAX_FRAME_SAMPLES)
        jb->frame_samples = d;
    }
    memset (out, 0, sizeof *out);
    out->kind = WZP_JITTER_ITEM_PACKET;
    out->seq = (guint32) head->seq;
    out->timestamp = (guint32) head->ts;
    out->n_packets = 1;
    out->duration_samples = jb->frame_samples;
    out->pts_ns = samples_to_ns (head->ts - jb->pts_base_ts);
    out->duration_ns = samples_to_ns (jb->frame_samples);
    out->deadline_ns = dl;
    out->payload = head->payload;
    head->payload = NULL;

    jb->playing = TRUE;
    jb->next_seq = head->seq + 1;
    jb->last_seq = head->seq;
    jb->last_ts = head->ts;
    jb->last_was_packet = TRUE;
    jb->stats.played++;
    WZP_TRACE ("play seq %u ts %u at %" G_GINT64_FORMAT " (due %"
        G_GINT64_FORMAT ")", out->seq, out->timestamp, now_ns, dl);
    slot_free (head);
    return TRUE;
  }

  /* A gap before the head: the missing frames are lost once their own
   * slots pass.  Report all the overdue ones as one item. */
  step = gap_step (jb, head);
  n = head->seq - jb->next_seq;
  dl = deadline_for_ts (jb, jb->last_ts + step);
  if (now_ns < dl || !take)
    goto pending;
  for (k = 1; k < n; k++)
    if (deadline_for_ts (jb, jb->last_ts + (k + 1) * step) > now_ns)
      break;

  memset (out, 0, sizeof *out);
  out->kind = WZP_JITTER_ITEM_LOST;
  out->seq = (guint32) jb->next_seq;
  out->timestamp = (guint32) (jb->last_ts + step);
  out->n_packets = k;
  out->duration_samples = k * step;
  out->pts_ns = samples_to_ns (jb->last_ts + step - jb->pts_base_ts);
  out->duration_ns = samples_to_ns (k * step);
  out->deadline_ns = dl;

  jb->next_seq += k;
  jb->last_seq += k;
  jb->last_ts += k * step;
  jb->last_was_packet = FALSE;
  jb->stats.lost += k;
  WZP_DEBUG ("lost %" G_GINT64_FORMAT " packets from seq %u", k, out->seq);
  return TRUE;

pending:
  if (out)
    out->deadline_ns = dl;
  return FALSE;
}

/**
 * wzp_jitter_pop:
 * @jb: the buffer
 * @now_ns: the caller's time
 * @out: (out caller-allocates): the item; clear with wzp_jitter_item_clear()
 *
 * Hands out the next item whose playout time has come: the next frame, or
 * a LOST item for frames that should have played by now and are missing.
 * Call it until it returns %FALSE, then wait for wzp_jitter_next_deadline()
 * or the next push.
 *
 * Returns: %TRUE if @out was filled.
 */
gboolean
wzp_jitter_pop (WzpJitter * jb, gint64 now_ns, WzpJitterItem * out)
{
  WzpJitterItem scratch;

  g_return_val_if_fail (jb != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (next_item (jb, now_ns, &scratch, TRUE)) {
    *out = scratch;
    return TRUE;
  }
  return FALSE;
}

/**
 * wzp_jitter_next_deadline:
 * @jb: a jitter buffer
 *
 * Returns: when wzp_jitter_pop() will next have something, on the caller's
 * clock (possibly already past), or -1 if nothing is held.  A push may
 * make it earlier.
 */
gint64
wzp_jitter_next_deadline (WzpJitter * jb)
{
  WzpJitterItem probe;

  g_return_val_if_fail (jb != NULL, -1);

  if (g_queue_is_empty (&jb->queue) && !(jb->conceal_silence && jb->playing))
    return -1;
  next_item (jb, G_MININT64, &probe, FALSE);
  return probe.deadline_ns;
}

/**
 * wzp_jitter_get_stats:
 * @jb: a jitter buffer
 * @stats: (out caller-allocates): its counters now
 */
void
wzp_jitter_get_stats (WzpJitter * jb, WzpJitterStats * stats)
{
  g_return_if_fail (jb != NULL && stats != NULL);

  *stats = jb->stats;
  stats->queued = jb->queue.length;
  stats->latency_ns = jb->latency_ns;
  stats->jitter_ns = (gint64) jb->jitter_ns;
}

/**
 * wzp_jitter_item_clear:
 * @item: an item wzp_jitter_pop() filled
 *
 * Releases the item's payload; the item may be reused.
 */
void
wzp_jitter_item_clear (WzpJitterItem * item)
{
  g_return_if_fail (item != NULL);
  g_clear_pointer (&item->payload, g_bytes_unref);
}
