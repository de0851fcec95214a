/* wzp-call-media.c — a call's media: keys, sealing and sending, opening,
 * and their counters
 */
#include "config.h"

#include "wzp-call-media.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

void
_wzp_call_media_init (WzpCallMedia * media)
{
  memset (media, 0, sizeof *media);
  g_queue_init (&media->early);
  g_mutex_init (&media->lock);
}

void
_wzp_call_media_reset (WzpCallMedia * media)
{
  g_clear_pointer (&media->sealer, wzp_media_sealer_free);
  g_clear_pointer (&media->opener, wzp_media_opener_free);
  memset (media->punch_token, 0, sizeof media->punch_token);
  g_queue_clear_full (&media->early, g_free);
}

void
_wzp_call_media_clear (WzpCallMedia * media)
{
  _wzp_call_media_reset (media);
  g_mutex_clear (&media->lock);
}

/* A token both peers can compute and the relay cannot: a hash of the
 * caller-to-callee media key, which only the two peers hold. */
static void
compute_punch_token (WzpCallMedia * media, const WzpMediaKey * caller_to_callee)
{
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  guint8 key_bytes[WZP_MEDIA_KEY_BYTES];
  const char tag[] = "wzp-punch-v1";

  wzp_media_key_to_bytes (caller_to_callee, key_bytes);
  g_checksum_update (c, (const guint8 *) tag, sizeof tag);
  g_checksum_update (c, key_bytes, sizeof key_bytes);
  g_checksum_get_digest (c, digest, &len);
  g_checksum_free (c);
  memset (key_bytes, 0, sizeof key_bytes);
  memcpy (media->punch_token, digest, WZP_PATH_TOKEN_LEN);
}

gboolean
_wzp_call_media_derive_keys (WzpCallMedia * media, WzpX25519Key * eph,
    const guint8 * peer_eph, const guint8 * call_id, gboolean is_caller,
    GError ** error)
{
  WzpMediaKey tx, rx;
  const guint8 *ours = wzp_x25519_key_get_public (eph);

  if (!wzp_media_keys_derive_pair (eph->priv, peer_eph, call_id,
          is_caller ? ours : peer_eph, is_caller ? peer_eph : ours, is_caller,
          &tx, &rx, error))
    return FALSE;
  compute_punch_token (media, is_caller ? &tx : &rx);
  media->sealer = wzp_media_sealer_new (&tx, error);
  if (media->sealer)
    media->opener = wzp_media_opener_new (&rx, error);
  wzp_media_key_clear (&tx);
  wzp_media_key_clear (&rx);
  return media->opener != NULL;
}

gssize
_wzp_call_media_open (WzpCallMedia * media, WzpMediaOpener * opener,
    const guint8 * data, gsize len, WzpMediaHeader * header, guint8 * plain,
    gsize plain_size, WzpPathKind path)
{
  g_autoptr (GError) error = NULL;
  WzpMediaOpenerStats os;
  gssize n;

  n = wzp_media_opener_open (opener, data, len, header, plain, plain_size,
      &error);
  wzp_media_opener_get_stats (opener, &os);
  g_mutex_lock (&media->lock);
  media->replayed = os.replayed;
  if (n < 0) {
    /* A copy from the other path during a switch and a replay look the
     * same to the receiver: both are dropped by the replay window. */
    if (g_error_matches (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_REPLAYED))
      media->duplicates++;
    else
      media->forged++;
  } else {
    media->frames_received++;
    media->bytes_received += n;
  }
  g_mutex_unlock (&media->lock);
  if (n < 0)
    WZP_LOG ("dropped a media packet on the %s path: %s",
        wzp_path_kind_to_string (path), error->message);
  return n;
}

void
_wzp_call_media_send (WzpCallMedia * media, WzpMediaSealer * sealer,
    WzpSignalClient * signal, guint32 channel, WzpPathManager * path,
    guint32 timestamp, gboolean marker, const guint8 * data, gsize len)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  g_autoptr (GError) error = NULL;
  gboolean sent = FALSE, direct;
  gssize n;

  n = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS,
      marker ? WZP_MEDIA_FLAG_MARKER : 0, timestamp, data, len, packet,
      sizeof packet, &error);
  if (n < 0) {
    WZP_WARNING ("cannot seal a frame: %s", error->message);
    _wzp_call_media_count_dropped (media);
    return;
  }
  direct = path && wzp_path_manager_send (path, packet, n);
  /* During a switch both paths carry the frame; the receiver's replay
   * window drops the second copy.  (Before the relay's call-setup, after
   * an early start on a LAN, there is no relay channel yet.) */
  if ((!direct || wzp_path_manager_should_duplicate (path)) && channel != 0)
    sent = wzp_signal_client_send_media (signal, channel, packet, n) || direct;
  else
    sent = direct;
  g_mutex_lock (&media->lock);
  if (sent) {
    media->frames_sent++;
    media->bytes_sent += len;
  } else {
    media->frames_dropped_send++;
  }
  g_mutex_unlock (&media->lock);
}

gboolean
_wzp_call_media_keep_early (WzpCallMedia * media, guint32 channel,
    const guint8 * data, gsize len)
{
  WzpCallEarlyPacket *p;

  if (g_queue_get_length (&media->early) >= WZP_CALL_EARLY_MEDIA_MAX)
    return FALSE;
  p = g_malloc (sizeof (WzpCallEarlyPacket) + len);
  p->channel = channel;
  p->len = len;
  memcpy (p->data, data, len);
  g_queue_push_tail (&media->early, p);
  return TRUE;
}

WzpCallEarlyPacket *
_wzp_call_media_take_early (WzpCallMedia * media)
{
  return g_queue_pop_head (&media->early);
}

void
_wzp_call_media_count_dropped (WzpCallMedia * media)
{
  g_mutex_lock (&media->lock);
  media->frames_dropped_send++;
  g_mutex_unlock (&media->lock);
}

void
_wzp_call_media_get_counters (WzpCallMedia * media, WzpCallStats * stats)
{
  g_mutex_lock (&media->lock);
  stats->frames_sent = media->frames_sent;
  stats->bytes_sent = media->bytes_sent;
  stats->frames_received = media->frames_received;
  stats->bytes_received = media->bytes_received;
  stats->frames_dropped_send = media->frames_dropped_send;
  stats->duplicates = media->duplicates;
  stats->forged = media->forged;
  stats->replayed = media->replayed;
  g_mutex_unlock (&media->lock);
}
