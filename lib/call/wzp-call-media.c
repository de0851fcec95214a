/* wzp-call-media.c — a call's media: sealing and sending on the current
 * path (frames queued by other threads), opening what arrives on either
 * path, the keys, the path manager that decides the path, and the
 * watchdog of an active call (RTT of the current path; a call with
 * neither media nor relay fails).
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* --- receiving media -------------------------------------------------- */

static void
deliver (WzpCall * self, const char *sender, WzpMediaOpener * opener,
    const guint8 * data, gsize len, WzpPathKind path)
{
  guint8 plain[WZP_MEDIA_MAX_PAYLOAD];
  WzpMediaHeader hdr;
  WzpMediaOpenerStats os;
  WzpCallFrame frame;
  gssize n;
  guint64 now;
  g_autoptr (GError) error = NULL;

  n = wzp_media_opener_open (opener, data, len, &hdr, plain, sizeof plain,
      &error);
  wzp_media_opener_get_stats (opener, &os);
  g_mutex_lock (&self->lock);
  self->stats.replayed = os.replayed;
  if (n < 0) {
    /* A copy from the other path during a switch and a replay look the
     * same to the receiver: both are dropped by the replay window. */
    if (g_error_matches (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_REPLAYED))
      self->stats.duplicates++;
    else
      self->stats.forged++;
    g_mutex_unlock (&self->lock);
    WZP_LOG_OBJECT (self, "dropped a media packet on the %s path: %s",
        wzp_path_kind_to_string (path), error->message);
    return;
  }
  now = wzp_clock_get_time (self->clock);
  _wzp_relay_leg_media (&self->leg, now);
  self->stats.frames_received++;
  self->stats.bytes_received += n;
  if (self->stats.setup_ns == 0 && self->setup_at)
    self->stats.setup_ns = now - self->setup_at;
  g_mutex_unlock (&self->lock);

  if (self->frame_func == NULL)
    return;
  frame.sender = sender;
  frame.seq = hdr.seq;
  frame.timestamp = hdr.timestamp;
  frame.marker = (hdr.flags & WZP_MEDIA_FLAG_MARKER) != 0;
  frame.data = plain;
  frame.len = n;
  frame.arrival_ns = now;
  frame.path = path;
  self->frame_func (&frame, self->frame_data);
}

void
_wzp_call_on_relay_media (WzpSignalClient * client, guint32 channel,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->room_state) {
    WzpMediaOpener *opener;
    const char *sender;

    opener = _wzp_call_room_opener_for (self->room_state, channel, data, len,
        &sender);
    if (opener)
      deliver (self, sender, opener, data, len, WZP_PATH_RELAY);
    return;
  }
  if (self->opener == NULL || channel != self->channel)
    return;
  deliver (self, self->active_peer, self->opener, data, len, WZP_PATH_RELAY);
}

static void
on_direct_media (const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->opener)
    deliver (self, self->active_peer, self->opener, data, len, WZP_PATH_DIRECT);
}

/* --- sending media ---------------------------------------------------- */

static void
send_one (WzpCall * self, Frame * f)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  gssize n;
  gboolean sent = FALSE;
  WzpMediaSealer *sealer = self->room_state ?
      _wzp_call_room_get_sealer (self->room_state) : self->sealer;
  g_autoptr (GError) error = NULL;

  if (sealer == NULL)
    return;
  n = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS,
      f->marker ? WZP_MEDIA_FLAG_MARKER : 0, f->timestamp, f->data, f->len,
      packet, sizeof packet, &error);
  if (n < 0) {
    WZP_WARNING_OBJECT (self, "cannot seal a frame: %s", error->message);
    g_mutex_lock (&self->lock);
    self->stats.frames_dropped_send++;
    g_mutex_unlock (&self->lock);
    return;
  }
  if (self->room_state) {
    sent = wzp_signal_client_send_media (self->signal,
        _wzp_call_room_get_channel (self->room_state), packet, n);
  } else {
    gboolean direct = self->path && wzp_path_manager_send (self->path,
        packet, n);
    /* During a switch both paths carry the frame; the receiver's replay
     * window drops the second copy. */
    if (!direct || wzp_path_manager_should_duplicate (self->path))
      sent = wzp_signal_client_send_media (self->signal, self->channel,
          packet, n) || direct;
    else
      sent = TRUE;
  }
  g_mutex_lock (&self->lock);
  if (sent) {
    self->stats.frames_sent++;
    self->stats.bytes_sent += f->len;
  } else {
    self->stats.frames_dropped_send++;
  }
  g_mutex_unlock (&self->lock);
}

gboolean
_wzp_call_on_wake (gpointer user_data)
{
  WzpCall *self = user_data;
  GQueue frames = G_QUEUE_INIT;
  gboolean hangup;
  AnswerRequest answer;
  Frame *f;

  g_source_set_ready_time (self->wake, -1);
  g_mutex_lock (&self->lock);
  frames = self->send_queue;
  g_queue_init (&self->send_queue);
  hangup = self->hangup_requested;
  self->hangup_requested = FALSE;
  answer = self->answer;
  self->answer = ANSWER_NONE;
  g_mutex_unlock (&self->lock);

  while ((f = g_queue_pop_head (&frames))) {
    send_one (self, f);
    g_free (f);
  }
  if (answer != ANSWER_NONE && !hangup)
    _wzp_call_decide_incoming (self, answer == ANSWER_ACCEPT);
  if (hangup && !_wzp_call_is_over (self->state)) {
    if (self->incoming && self->signal)
      self->hangup_sent = wzp_signal_client_reject (self->signal,
          self->incoming->call_id, NULL);
    if (self->call_id && self->signal)
      self->hangup_sent = wzp_signal_client_hangup (self->signal,
          self->call_id, NULL);
    if (self->room_state)
      self->hangup_sent = _wzp_call_room_leave (self->room_state, NULL);
    _wzp_call_hang_up_direct (self);
    _wzp_call_set_state (self, WZP_CALL_STATE_ENDED, g_error_new_literal
        (WZP_CALL_ERROR, WZP_CALL_ERROR_HUNG_UP, "hung up locally"));
  }
  return G_SOURCE_CONTINUE;
}

gboolean
wzp_call_send_frame (WzpCall * self, guint32 timestamp, gboolean marker,
    const guint8 * data, gsize len)
{
  Frame *f;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  if (len > WZP_MEDIA_MAX_PAYLOAD)
    return FALSE;
  g_mutex_lock (&self->lock);
  if (self->state != WZP_CALL_STATE_ACTIVE) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  if (self->send_queue.length >= SEND_QUEUE_MAX) {
    /* The context is not keeping up: a real-time sender drops. */
    self->stats.frames_dropped_send++;
    g_mutex_unlock (&self->lock);
    return TRUE;
  }
  f = g_malloc (sizeof (Frame) + len);
  f->timestamp = timestamp;
  f->marker = marker;
  f->len = len;
  memcpy (f->data, data, len);
  g_queue_push_tail (&self->send_queue, f);
  g_mutex_unlock (&self->lock);
  /* Thread-safe: wakes the context if it is polling. */
  g_source_set_ready_time (self->wake, 0);
  return TRUE;
}

void
wzp_call_hangup (WzpCall * self)
{
  g_return_if_fail (WZP_IS_CALL (self));
  g_mutex_lock (&self->lock);
  self->hangup_requested = TRUE;
  g_mutex_unlock (&self->lock);
  if (self->wake)
    g_source_set_ready_time (self->wake, 0);
}

/* --- keys and paths --------------------------------------------------- */

/* A token both peers can compute and the relay cannot: a hash of the
 * caller-to-callee media key, which only the two peers hold. */
static void
compute_punch_token (WzpCall * self, const WzpMediaKey * caller_to_callee)
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
  memcpy (self->punch_token, digest, WZP_PATH_TOKEN_LEN);
}

gboolean
_wzp_call_derive_keys (WzpCall * self, const guint8 * peer_eph, GError ** error)
{
  WzpMediaKey tx, rx;
  const guint8 *caller_eph = self->is_caller ?
      wzp_x25519_key_get_public (self->eph) : peer_eph;
  const guint8 *callee_eph = self->is_caller ? peer_eph :
      wzp_x25519_key_get_public (self->eph);

  if (!wzp_media_keys_derive_pair (self->eph->priv, peer_eph,
          self->call_id_bin, caller_eph, callee_eph, self->is_caller, &tx, &rx,
          error))
    return FALSE;
  compute_punch_token (self, self->is_caller ? &tx : &rx);
  self->sealer = wzp_media_sealer_new (&tx, error);
  if (self->sealer)
    self->opener = wzp_media_opener_new (&rx, error);
  wzp_media_key_clear (&tx);
  wzp_media_key_clear (&rx);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  return self->opener != NULL;
}

/* --- the direct connection: the peer's hang-up ------------------------ */

void
_wzp_call_hang_up_direct (WzpCall * self)
{
  WzpConnection *direct = self->path ?
      wzp_path_manager_get_direct_connection (self->path) : NULL;

  if (direct && wzp_connection_get_state (direct) !=
      WZP_CONNECTION_STATE_CLOSED)
    wzp_connection_close (direct, WZP_CLOSE_HANGUP, "hangup");
}

static void
on_direct_closed (WzpConnection * conn, const GError * reason,
    gpointer user_data)
{
  WzpCall *self = user_data;
  guint64 code;

  if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_CLOSED) &&
      wzp_connection_get_peer_close_code (conn, &code) &&
      code == WZP_CLOSE_HANGUP && self->state == WZP_CALL_STATE_ACTIVE)
    _wzp_call_peer_hung_up (self, "over the direct path");
}

/* Watches the current direct connection, so a hang-up reaches us there
 * even when the relay cannot tell us (it is gone, or restarting). */
static void
watch_direct (WzpCall * self)
{
  WzpConnection *direct = self->path ?
      wzp_path_manager_get_direct_connection (self->path) : NULL;

  /* A connection that just closed is still watched: the path manager
   * forgets it in the same "closed" emission that would tell us. */
  if (direct == NULL || direct == self->direct)
    return;
  if (self->direct) {
    g_clear_signal_handler (&self->direct_closed_id, self->direct);
    g_clear_object (&self->direct);
  }
  self->direct = g_object_ref (direct);
  self->direct_closed_id = g_signal_connect (direct, "closed",
      G_CALLBACK (on_direct_closed), self);
}

static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  watch_direct (user_data);
  _wzp_call_set_path (user_data, path == WZP_PATH_NONE ? WZP_PATH_RELAY : path,
      reason);
}

/* --- the watchdog of an active call ----------------------------------- */

static guint64
current_rtt (WzpCall * self)
{
  WzpConnectionStats cs;
  WzpConnection *conn = NULL;

  if (wzp_call_get_path (self) == WZP_PATH_DIRECT && self->path) {
    conn = wzp_path_manager_get_direct_connection (self->path);
  } else if (self->signal) {
    WzpRelayChannelStats ch;

    /* Relayed media on the relay's media channel: its own round trip
     * (BIND to BIND-ACK), not the mostly idle signaling connection's,
     * whose ACKs the relay delays. */
    wzp_signal_client_get_channel_stats (self->signal, self->channel, &ch);
    if (!self->room_state && ch.state == WZP_RELAY_CHANNEL_UP && ch.rtt_ns)
      return ch.rtt_ns;
    conn = wzp_signal_client_get_connection (self->signal);
  }
  if (conn == NULL)
    return 0;
  wzp_connection_get_stats (conn, &cs);
  return cs.rtt_ns;
}

static void
watchdog_tick (WzpCall * self)
{
  guint64 now = wzp_clock_get_time (self->clock);
  guint64 rtt, silence;
  WzpRelayChannelStats ch;

  if (self->state != WZP_CALL_STATE_ACTIVE)
    return;
  watch_direct (self);
  rtt = current_rtt (self);
  if (!self->room_state && self->signal)
    wzp_signal_client_get_channel_stats (self->signal, self->channel, &ch);
  else
    memset (&ch, 0, sizeof ch);
  g_mutex_lock (&self->lock);
  /* Keep the last value while the relay is away. */
  if (rtt)
    self->stats.rtt_ns = rtt;
  /* A call that ends takes its channel along: keep its last counts. */
  if (ch.state != WZP_RELAY_CHANNEL_OFF || ch.sent || ch.received) {
    self->stats.relay_channel_sent = ch.sent;
    self->stats.relay_channel_received = ch.received;
    self->stats.relay_channel_downs = ch.downs;
  }
  self->stats.relay_channel_state = ch.state;
  g_mutex_unlock (&self->lock);

  silence = self->room_state ? 0 : _wzp_relay_leg_silence (&self->leg, now);
  if (self->media_timeout_ms > 0 &&
      silence >= (guint64) self->media_timeout_ms * WZP_NSEC_PER_MSEC)
    _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_LOST,
        "no media from %s for %u ms, and the relay is %s", self->active_peer,
        self->media_timeout_ms, wzp_signal_client_get_state (self->signal)
        == WZP_SIGNAL_STATE_REGISTERED ? "not carrying the call" :
        "unreachable");
}

static gboolean
watchdog_dispatch (gpointer user_data)
{
  WzpCall *self = user_data;

  wzp_timer_source_set_deadline (self->watchdog,
      wzp_clock_get_time (self->clock) + WATCHDOG_INTERVAL);
  /* May end the call, which destroys this source: fine while it runs. */
  watchdog_tick (self);
  return G_SOURCE_CONTINUE;
}

void
_wzp_call_start_watchdog (WzpCall * self)
{
  if (self->watchdog)
    return;
  self->watchdog = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->watchdog, watchdog_dispatch, self, NULL);
  g_source_set_name (self->watchdog, "WzpCall watchdog");
  g_source_attach (self->watchdog, self->context);
  wzp_timer_source_set_deadline (self->watchdog,
      wzp_clock_get_time (self->clock) + WATCHDOG_INTERVAL);
}

static void
on_race_finished (WzpPathManager * pm, gboolean direct, const char *reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  if (!direct && self->path_policy == WZP_PATH_POLICY_DIRECT_ONLY)
    _wzp_call_fail (self, WZP_CALL_ERROR_NO_PATH, "no direct path to %s: %s",
        self->active_peer, reason);
}

void
_wzp_call_start_path (WzpCall * self, const WzpOfferInfo * peer,
    GSocketAddress * peer_reflexive, WzpNatType peer_nat)
{
  WzpPathConfig cfg;
  g_autoptr (WzpCandidates) theirs = wzp_candidates_new ();
  g_autoptr (GError) error = NULL;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY)
    return;
  for (guint i = 0; i < peer->candidates->len; i++)
    wzp_candidates_add_string (theirs, WZP_CANDIDATE_HOST,
        g_ptr_array_index (peer->candidates, i), NULL);
  if (peer_reflexive)
    wzp_candidates_add_reflexive (theirs, peer_reflexive);

  wzp_path_config_init (&cfg);
  cfg.local_fingerprint = wzp_identity_get_fingerprint (self->identity);
  cfg.peer_fingerprint = self->active_peer;
  cfg.local_nat = wzp_signal_client_get_nat_type (self->signal);
  cfg.peer_nat = peer_nat;
  cfg.local_candidates = self->local_candidates;
  cfg.peer_candidates = theirs;
  cfg.policy = self->path_policy;
  if (self->timings)
    cfg.timings = *self->timings;
  memcpy (cfg.call_token, self->punch_token, WZP_PATH_TOKEN_LEN);
  self->path = wzp_path_manager_new (self->endpoint, &cfg, &error);
  if (self->path == NULL) {
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
    return;
  }
  wzp_path_manager_set_media_handler (self->path, on_direct_media, self, NULL);
  g_signal_connect (self->path, "path-changed", G_CALLBACK (on_path_changed),
      self);
  g_signal_connect (self->path, "race-finished",
      G_CALLBACK (on_race_finished), self);
  if (!wzp_path_manager_start (self->path, &error))
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
}

gboolean
_wzp_call_inject_test_frame (WzpCall * self, const char *text, gboolean tamper)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  gssize n;

  if (self->sealer == NULL || self->signal == NULL)
    return FALSE;
  n = wzp_media_sealer_seal (self->sealer, WZP_MEDIA_CODEC_OPUS, 0, 0,
      (const guint8 *) text, strlen (text), packet, sizeof packet, NULL);
  if (n <= WZP_MEDIA_HEADER_LEN)
    return FALSE;
  if (tamper) {
    packet[WZP_MEDIA_HEADER_LEN] ^= 0x01;
    return wzp_signal_client_send_media (self->signal, self->channel, packet,
        n);
  }
  return wzp_signal_client_send_media (self->signal, self->channel, packet,
      n) && wzp_signal_client_send_media (self->signal, self->channel,
      packet, n);
}
