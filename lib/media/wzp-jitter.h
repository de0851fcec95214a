/* wzp — adaptive jitter buffer with explicit time
 *
 * Holds opened media frames until their playout time, in sequence order,
 * and reports the frames that never came (LOST) once their playout time
 * has passed, so the decoder can conceal them.  Nothing in here reads a
 * clock: every call takes the caller's "now" in nanoseconds (any monotonic
 * base, the same for all calls), and wzp_jitter_next_deadline() tells the
 * caller when to come back.  Tests drive it with made-up times.
 *
 * Timing: the buffer learns the smallest transit (arrival time minus media
 * time) it sees, which it takes as the network's base delay, and plays each
 * frame at  media_time + base_delay + latency.  The latency adapts between
 * the configured minimum and maximum: about four times the RFC 3550
 * interarrival jitter, raised at once when jitter grows or a frame comes
 * too late, lowered slowly (time constant of some hundred packets) when it
 * shrinks.
 *
 * Sequence numbers (32 bits) and timestamps (32 bits, 48 kHz) may wrap;
 * the buffer extends both to 64 bits internally.  A jump of more than
 * WZP_JITTER_MAX_DROPOUT sequence numbers either way restarts the buffer.
 *
 * Not thread-safe: one thread at a time, e.g. under the element's lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

/* Media clock of the timestamps. */
#define WZP_JITTER_CLOCK_RATE 48000
/* Assumed frame length until the stream shows its own: 20 ms. */
#define WZP_JITTER_DEFAULT_FRAME_SAMPLES 960
/* A sequence jump bigger than this (either way) is a new stream. */
#define WZP_JITTER_MAX_DROPOUT 3000

typedef struct _WzpJitter WzpJitter;

/**
 * WzpJitterPushResult:
 * @WZP_JITTER_QUEUED: held for playout
 * @WZP_JITTER_DUPLICATE: that sequence number is already held; dropped
 * @WZP_JITTER_LATE: its slot was already played or reported lost; dropped
 * @WZP_JITTER_RESET: a huge sequence jump: everything held was dropped and
 *   the buffer restarted with this packet (held).  Timestamps start again
 *   at 0: the caller should mark a discontinuity.
 */
typedef enum
{
  WZP_JITTER_QUEUED,
  WZP_JITTER_DUPLICATE,
  WZP_JITTER_LATE,
  WZP_JITTER_RESET,
} WzpJitterPushResult;

typedef enum
{
  WZP_JITTER_ITEM_PACKET,
  WZP_JITTER_ITEM_LOST,
} WzpJitterItemKind;

/**
 * WzpJitterItem:
 * @kind: a frame, or a run of frames that never came
 * @seq: sequence number (of the first lost frame for LOST)
 * @timestamp: media timestamp, 48 kHz units (first lost frame for LOST)
 * @n_packets: 1 for PACKET; how many frames are missing for LOST
 * @duration_samples: media duration, 48 kHz units (estimated)
 * @pts_ns: media time since the stream (re)started, in nanoseconds
 * @duration_ns: @duration_samples in nanoseconds
 * @deadline_ns: when the item was due, on the caller's clock
 * @payload: (nullable): the frame for PACKET, %NULL for LOST; owned by the
 *   item: release with wzp_jitter_item_clear()
 */
typedef struct
{
  WzpJitterItemKind kind;
  guint32 seq;
  guint32 timestamp;
  guint n_packets;
  guint32 duration_samples;
  gint64 pts_ns;
  gint64 duration_ns;
  gint64 deadline_ns;
  GBytes *payload;
} WzpJitterItem;

/**
 * WzpJitterStats:
 * @pushed: every packet given to wzp_jitter_push()
 * @played: PACKET items handed out
 * @lost: frames reported in LOST items
 * @late: packets that came after their slot
 * @duplicates: packets already held
 * @resets: restarts: after a sequence jump, or when the stream resumed
 *   behind the time a silence had already concealed
 * @queued: packets held now
 * @latency_ns: the current target latency
 * @jitter_ns: the RFC 3550 interarrival jitter estimate
 */
typedef struct
{
  guint64 pushed;
  guint64 played;
  guint64 lost;
  guint64 late;
  guint64 duplicates;
  guint64 resets;
  guint queued;
  gint64 latency_ns;
  gint64 jitter_ns;
} WzpJitterStats;

WZP_API
WzpJitter *wzp_jitter_new (guint min_latency_ms, guint max_latency_ms);

#define WZP_TYPE_JITTER (wzp_jitter_get_type ())
WZP_API
GType wzp_jitter_get_type (void);

WZP_API
WzpJitter *wzp_jitter_ref (WzpJitter * jb);

WZP_API
void wzp_jitter_unref (WzpJitter * jb);

WZP_API
void wzp_jitter_set_latency (WzpJitter * jb, guint min_latency_ms,
    guint max_latency_ms);

WZP_API
gint64 wzp_jitter_get_latency_ns (WzpJitter * jb);

WZP_API
void wzp_jitter_set_conceal_silence (WzpJitter * jb, gboolean conceal);

WZP_API
WzpJitterPushResult wzp_jitter_push (WzpJitter * jb, guint32 seq,
    guint32 timestamp, GBytes * payload, gint64 now_ns);

WZP_API
gboolean wzp_jitter_pop (WzpJitter * jb, gint64 now_ns, WzpJitterItem * out);

WZP_API
gint64 wzp_jitter_next_deadline (WzpJitter * jb);

WZP_API
void wzp_jitter_flush (WzpJitter * jb);

WZP_API
void wzp_jitter_get_stats (WzpJitter * jb, WzpJitterStats * stats);

WZP_API
void wzp_jitter_item_clear (WzpJitterItem * item);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpJitter, wzp_jitter_unref)

G_END_DECLS
