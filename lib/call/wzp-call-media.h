/* wzp-call-media.h — a call's media: keys, sealing and sending, opening,
 * and their counters (private)
 *
 * Plain data with functions that call nobody back: WzpCall drives it
 * from its context and asks for the counters from any thread.  Which
 * sealer and opener apply (the call's own, or a room's) and where a frame
 * goes (the relay, the direct path, both during a switch) is decided here
 * from what the caller passes in.
 */
#pragma once

#include "wzp-call.h"
#include "wzp-media-crypto.h"
#include "wzp-media-packet.h"
#include "wzp-path.h"
#include "wzp-signal-client.h"

G_BEGIN_DECLS

G_STATIC_ASSERT (WZP_CALL_MAX_FRAME == WZP_MEDIA_MAX_PAYLOAD);

typedef struct
{
  /* the call's context */
  WzpMediaSealer *sealer;       /* a 1:1 call's, once keys are derived */
  WzpMediaOpener *opener;
  guint8 punch_token[WZP_PATH_TOKEN_LEN];
  /* Relayed media that came before the keys (in a cluster the peer's
   * setup may take a shorter way than ours): of WzpCallEarlyPacket. */
  GQueue early;

  /* counters: any thread, under the lock */
  GMutex lock;
  guint64 frames_sent;
  guint64 bytes_sent;
  guint64 frames_received;
  guint64 bytes_received;
  guint64 frames_dropped_send;
  guint64 duplicates;
  guint64 forged;
  guint64 replayed;
} WzpCallMedia;

void _wzp_call_media_init (WzpCallMedia * media);
void _wzp_call_media_clear (WzpCallMedia * media);
/* Forgets the keys and the media kept before them (a call that ended
 * before it was set up, after they were made early); the counters
 * stay. */
void _wzp_call_media_reset (WzpCallMedia * media);

/* A 1:1 call's keys from our ephemeral key @eph and the peer's (both
 * signed in the offer and answer), and the direct path's punch token. */
gboolean _wzp_call_media_derive_keys (WzpCallMedia * media,
    WzpX25519Key * eph, const guint8 * peer_eph, const guint8 * call_id,
    gboolean is_caller, GError ** error);

/* Opens @data with @opener into @plain; counts it (received, or dropped
 * as a duplicate or forged).  The length of the frame, or -1. */
gssize _wzp_call_media_open (WzpCallMedia * media, WzpMediaOpener * opener,
    const guint8 * data, gsize len, WzpMediaHeader * header, guint8 * plain,
    gsize plain_size, WzpPathKind path);

/* Seals a frame with @sealer and sends it: on @path's direct connection
 * when it carries media (@path may be NULL: a room, or relay-only), on
 * the relay's @channel otherwise, and on both during a switch (the
 * receiver's replay window drops the second copy).  Counts it, sent or
 * dropped. */
void _wzp_call_media_send (WzpCallMedia * media, WzpMediaSealer * sealer,
    WzpSignalClient * signal, guint32 channel, WzpPathManager * path,
    guint32 timestamp, gboolean marker, const guint8 * data, gsize len);

/* At most this much media waits for its keys: 16 frames of 20 ms, far
 * more than any skew between the two setups. */
#define WZP_CALL_EARLY_MEDIA_MAX 16

typedef struct
{
  guint32 channel;
  gsize len;
  guint8 data[];
} WzpCallEarlyPacket;

/* Keeps a copy of relayed media that came before the keys; FALSE (and
 * nothing kept) when WZP_CALL_EARLY_MEDIA_MAX wait already. */
gboolean _wzp_call_media_keep_early (WzpCallMedia * media, guint32 channel,
    const guint8 * data, gsize len);

/* The oldest packet kept early (g_free() it), or NULL. */
WzpCallEarlyPacket *_wzp_call_media_take_early (WzpCallMedia * media);

/* A frame that never got to be sealed (the send queue was full, or it
 * was longer than WZP_CALL_MAX_FRAME). */
void _wzp_call_media_count_dropped (WzpCallMedia * media);

/* Copies the counters into @stats. */
void _wzp_call_media_get_counters (WzpCallMedia * media,
    WzpCallStats * stats);

G_END_DECLS
