/* wzp — the relay's 1:1 calls and media forwarding
 *
 * A call belongs to two fingerprints, not to connections: it survives a
 * party reconnecting (its new registration simply takes over) and ends
 * when a party's current registration goes away.  Each fingerprint is in
 * at most one call at a time ("busy").
 *
 * A relay that restarted knows no calls.  Parties of an active call that
 * reconnect send resume-call with the call id and the signatures of their
 * offer and answer; once both have (with the same proof, verified under
 * both parties' keys) the relay carries the call again on a new channel.
 * The signatures are what stop anyone from having two strangers bridged.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

/* Setup messages are timed to arrive together when the RTTs differ by
 * more than this. */
#define SETUP_SKEW_MIN (1 * WZP_NSEC_PER_MSEC)
/* How long a call one party resumed waits for the other party: both learn
 * that the relay is back within a second or two of each other. */
#define RESUME_WAIT (10 * WZP_NSEC_PER_SEC)

void
_wzp_relay_call_free (RelayCall * call)
{
  _wzp_relay_channels_close (call->relay, call);
  if (call->ring_timer) {
    g_source_destroy (call->ring_timer);
    g_source_unref (call->ring_timer);
  }
  if (call->setup_timer) {
    g_source_destroy (call->setup_timer);
    g_source_unref (call->setup_timer);
  }
  g_clear_pointer (&call->pending_setup, g_bytes_unref);
  g_free (call->pending_to);
  g_clear_pointer (&call->offer, json_object_unref);
  g_clear_pointer (&call->answer, json_object_unref);
  g_free (call->id);
  g_free (call->caller);
  g_free (call->callee);
  g_free (call);
}

static void
update_call_stats (WzpRelay * self)
{
  GHashTableIter it;
  gpointer value;

  self->stats.calls_ringing = self->stats.calls_active = 0;
  g_hash_table_iter_init (&it, self->calls);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RelayCall *call = value;
    if (call->state == CALL_RINGING)
      self->stats.calls_ringing++;
    else
      self->stats.calls_active++;
  }
}

/* Ends @call: both parties that are still registered (except @skip_fp)
 * get call-ended with @reason. */
static void
end_call (WzpRelay * self, RelayCall * call, const char *reason,
    const char *skip_fp)
{
  const char *parties[] = { call->caller, call->callee };

  WZP_INFO_OBJECT (self, "call %s (%s -> %s) ended: %s", call->id,
      call->caller, call->callee, reason);
  for (guint i = 0; i < G_N_ELEMENTS (parties); i++) {
    if (skip_fp && strcmp (parties[i], skip_fp) == 0)
      continue;
    _wzp_relay_send_to (self, parties[i],
        wzp_message_new_call_ended (call->id, reason));
  }
  if (g_hash_table_lookup (self->fp_calls, call->caller) == call)
    g_hash_table_remove (self->fp_calls, call->caller);
  if (g_hash_table_lookup (self->fp_calls, call->callee) == call)
    g_hash_table_remove (self->fp_calls, call->callee);
  g_hash_table_remove (self->channels, GUINT_TO_POINTER (call->channel.id));
  g_hash_table_remove (self->calls, call->id);
  update_call_stats (self);
}

static void
reply_call_ended (WzpRelay * self, RelayClient * c, JsonObject * request,
    const char *call_id, const char *reason)
{
  JsonObject *m = wzp_message_new_call_ended (call_id, reason);
  guint32 req;

  if (wzp_message_get_req (request, &req))
    wzp_message_set_re (m, req);
  _wzp_relay_send (self, c, m);
}

static gboolean
ring_timeout_cb (gpointer data)
{
  RelayCall *call = data;

  g_clear_pointer (&call->ring_timer, g_source_unref);
  end_call (call->relay, call, "no-answer", NULL);
  return G_SOURCE_REMOVE;
}

void
_wzp_relay_handle_call (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *to = NULL;
  g_autofree char *call_id = NULL;
  g_autoptr (JsonObject) offer = NULL;
  RelayClient *callee;
  RelayCall *call;
  JsonObject *ringing;
  guint32 req;

  if (!wzp_message_get_fingerprint (msg, "to", TRUE, &to, &error) ||
      !wzp_message_get_call_id (msg, "call_id", &call_id, &error) ||
      !wzp_message_get_opaque (msg, "offer", TRUE, WZP_MESSAGE_MAX_OPAQUE,
          &offer, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (strcmp (to, c->fp) == 0) {
    _wzp_relay_send_error (self, c, "bad-request", "cannot call yourself", msg);
    return;
  }
  if (g_hash_table_contains (self->calls, call_id)) {
    _wzp_relay_send_error (self, c, "call-id-in-use",
        "a call with this id exists; choose 16 random bytes", msg);
    return;
  }
  callee = _wzp_relay_lookup (self, to);
  if (callee == NULL) {
    reply_call_ended (self, c, msg, call_id, "peer-offline");
    return;
  }
  if (g_hash_table_contains (self->fp_calls, c->fp) ||
      g_hash_table_contains (self->fp_calls, to)) {
    reply_call_ended (self, c, msg, call_id, "busy");
    return;
  }

  call = g_new0 (RelayCall, 1);
  call->channel.kind = CHANNEL_CALL;
  call->relay = self;
  call->id = g_steal_pointer (&call_id);
  call->caller = g_strdup (c->fp);
  call->callee = g_strdup (to);
  memcpy (call->caller_key, c->public_key, WZP_PUBLIC_KEY_LEN);
  memcpy (call->callee_key, callee->public_key, WZP_PUBLIC_KEY_LEN);
  call->offer = g_steal_pointer (&offer);
  call->state = CALL_RINGING;
  _wzp_relay_allocate_channel (self, &call->channel);
  g_hash_table_insert (self->calls, call->id, call);
  g_hash_table_insert (self->fp_calls, call->caller, call);
  g_hash_table_insert (self->fp_calls, call->callee, call);
  call->ring_timer = wzp_clock_timeout_add (self->clock, self->context,
      self->ring_timeout_ns, ring_timeout_cb, call, NULL);
  self->stats.calls_total++;
  update_call_stats (self);
  WZP_INFO_OBJECT (self, "call %s: %s -> %s ringing (channel %u)", call->id,
      call->caller, call->callee, call->channel.id);

  _wzp_relay_send (self, callee, wzp_message_new_incoming_call (call->id,
          call->caller, call->caller_key, call->offer));
  ringing = wzp_message_new_call_ringing (call->id);
  if (wzp_message_get_req (msg, &req))
    wzp_message_set_re (ringing, req);
  _wzp_relay_send (self, c, ringing);
}

/* Finds the call named by "call_id" that @c's fingerprint is a party of;
 * sends the error itself when there is none. */
static RelayCall *
lookup_own_call (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *call_id = NULL;
  RelayCall *call;

  if (!wzp_message_get_call_id (msg, "call_id", &call_id, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return NULL;
  }
  call = g_hash_table_lookup (self->calls, call_id);
  /* Someone else's call looks exactly like no call. */
  if (call == NULL || (strcmp (call->caller, c->fp) != 0 &&
          strcmp (call->callee, c->fp) != 0)) {
    _wzp_relay_send_error (self, c, "unknown-call", "no such call", msg);
    return NULL;
  }
  return call;
}

static gboolean
setup_timer_cb (gpointer data)
{
  RelayCall *call = data;
  WzpRelay *self = call->relay;
  RelayClient *c = _wzp_relay_lookup (self, call->pending_to);

  g_clear_pointer (&call->setup_timer, g_source_unref);
  if (c)
    wzp_connection_send_message (c->conn, g_bytes_get_data
        (call->pending_setup, NULL), g_bytes_get_size (call->pending_setup),
        NULL);
  g_clear_pointer (&call->pending_setup, g_bytes_unref);
  g_clear_pointer (&call->pending_to, g_free);
  return G_SOURCE_REMOVE;
}

static JsonObject *
setup_for (RelayCall * call, gboolean for_caller, RelayClient * peer)
{
  JsonObject *m = wzp_message_new_call_setup (call->id,
      for_caller ? call->callee : call->caller,
      for_caller ? call->callee_key : call->caller_key,
      for_caller ? call->answer : call->offer, peer->observed,
      call->channel.id, for_caller ? "caller" : "callee");

  /* What the peer's own NAT probe told us (PROTOCOL.md §5). */
  json_object_set_string_member (m, "peer_nat", peer->nat);
  /* Our media channel (PROTOCOL.md §7). */
  _wzp_relay_channels_describe (call->relay, call, for_caller ? 0 : 1, m);
  return m;
}

/* Sends call-setup to both, delaying the nearer one by half the RTT
 * difference so both arrive together (what simultaneous hole punching
 * through two "masquerade" NATs needs). */
static void
send_setup (WzpRelay * self, RelayCall * call, RelayClient * caller,
    RelayClient * callee)
{
  WzpConnectionStats a, b;
  JsonObject *to_caller = setup_for (call, TRUE, callee);
  JsonObject *to_callee = setup_for (call, FALSE, caller);
  RelayClient *near;
  JsonObject *near_msg;
  guint64 delay;

  wzp_connection_get_stats (caller->conn, &a);
  wzp_connection_get_stats (callee->conn, &b);
  delay = (a.rtt_ns > b.rtt_ns ? a.rtt_ns - b.rtt_ns : b.rtt_ns - a.rtt_ns)
      / 2;
  WZP_DEBUG_OBJECT (self, "call %s: RTT caller %" G_GUINT64_FORMAT
      " us, callee %" G_GUINT64_FORMAT " us: delaying the nearer by %"
      G_GUINT64_FORMAT " us", call->id, a.rtt_ns / 1000, b.rtt_ns / 1000,
      delay / 1000);
  if (delay < SETUP_SKEW_MIN) {
    _wzp_relay_send (self, caller, to_caller);
    _wzp_relay_send (self, callee, to_callee);
    return;
  }
  if (a.rtt_ns > b.rtt_ns) {
    _wzp_relay_send (self, caller, to_caller);
    near = callee;
    near_msg = to_callee;
  } else {
    _wzp_relay_send (self, callee, to_callee);
    near = caller;
    near_msg = to_caller;
  }
  call->pending_to = g_strdup (near->fp);
  call->pending_setup = wzp_message_to_bytes (near_msg);
  json_object_unref (near_msg);
  call->setup_timer = wzp_clock_timeout_add (self->clock, self->context,
      delay, setup_timer_cb, call, NULL);
}

void
_wzp_relay_handle_answer (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;
  RelayCall *call = lookup_own_call (self, c, msg);
  RelayClient *caller;

  if (call == NULL)
    return;
  if (!wzp_message_get_opaque (msg, "answer", TRUE, WZP_MESSAGE_MAX_OPAQUE,
          &answer, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (strcmp (call->callee, c->fp) != 0 || call->state != CALL_RINGING) {
    _wzp_relay_send_error (self, c, "bad-state",
        "only the callee answers, and only while it rings", msg);
    return;
  }
  caller = _wzp_relay_lookup (self, call->caller);
  if (caller == NULL) {
    end_call (self, call, "peer-gone", NULL);
    return;
  }
  call->answer = g_steal_pointer (&answer);
  call->state = CALL_ACTIVE;
  if (call->ring_timer) {
    g_source_destroy (call->ring_timer);
    g_clear_pointer (&call->ring_timer, g_source_unref);
  }
  update_call_stats (self);
  WZP_INFO_OBJECT (self, "call %s answered", call->id);
  _wzp_relay_channels_open (self, call, caller, c);
  send_setup (self, call, caller, c);
}

void
_wzp_relay_handle_reject (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  RelayCall *call = lookup_own_call (self, c, msg);

  if (call == NULL)
    return;
  if (strcmp (call->callee, c->fp) != 0 || call->state != CALL_RINGING) {
    _wzp_relay_send_error (self, c, "bad-state",
        "only the callee rejects, and only while it rings", msg);
    return;
  }
  end_call (self, call, "rejected", NULL);
}

void
_wzp_relay_handle_hangup (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  RelayCall *call = lookup_own_call (self, c, msg);

  if (call)
    end_call (self, call, "hangup", NULL);
}

/* --- resuming a call after a restart ---------------------------------- */

static gboolean
resume_timeout_cb (gpointer data)
{
  RelayCall *call = data;

  g_clear_pointer (&call->ring_timer, g_source_unref);
  end_call (call->relay, call, "peer-gone", NULL);
  return G_SOURCE_REMOVE;
}

static void
send_resumed (WzpRelay * self, RelayClient * c, RelayCall * call,
    JsonObject * request)
{
  JsonObject *m = wzp_message_new_call_resumed (call->id, call->channel.id);
  guint32 req;

  _wzp_relay_channels_describe (self, call, strcmp (call->caller, c->fp) == 0
      ? 0 : 1, m);
  if (request && wzp_message_get_req (request, &req))
    wzp_message_set_re (m, req);
  _wzp_relay_send (self, c, m);
}

/* The second party asked with the same proof: the call is back. */
static void
resume_complete (WzpRelay * self, RelayClient * c, RelayCall * call,
    JsonObject * msg)
{
  const char *other = strcmp (call->caller, c->fp) == 0 ? call->callee :
      call->caller;
  RelayClient *first = _wzp_relay_lookup (self, other);

  if (call->ring_timer) {
    g_source_destroy (call->ring_timer);
    g_clear_pointer (&call->ring_timer, g_source_unref);
  }
  call->state = CALL_ACTIVE;
  _wzp_relay_allocate_channel (self, &call->channel);
  if (strcmp (call->caller, c->fp) == 0)
    _wzp_relay_channels_open (self, call, c, first);
  else
    _wzp_relay_channels_open (self, call, first, c);
  update_call_stats (self);
  WZP_INFO_OBJECT (self, "call %s (%s -> %s) resumed on channel %u",
      call->id, call->caller, call->callee, call->channel.id);
  send_resumed (self, c, call, msg);
  if (first)
    send_resumed (self, first, call, NULL);
}

void
_wzp_relay_handle_resume_call (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *key_fp = NULL;
  g_autoptr (GBytes) peer_key = NULL;
  const char *role = NULL;
  const guint8 *pk;
  gboolean by_caller;
  WzpCallProof proof;
  RelayCall *call;

  if (!wzp_message_get_call_id (msg, "call_id", &call_id, &error) ||
      !wzp_message_get_fingerprint (msg, "peer", TRUE, &peer, &error) ||
      !wzp_message_get_bytes (msg, "peer_public_key", TRUE,
          WZP_PUBLIC_KEY_LEN, WZP_PUBLIC_KEY_LEN, &peer_key, &error) ||
      !wzp_message_get_string (msg, "role", TRUE, 16, &role, &error) ||
      !wzp_message_get_call_proof (msg, &proof, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (strcmp (role, "caller") != 0 && strcmp (role, "callee") != 0) {
    _wzp_relay_send_error (self, c, "bad-message",
        "resume-call: field 'role' must be \"caller\" or \"callee\"", msg);
    return;
  }
  if (strcmp (peer, c->fp) == 0) {
    _wzp_relay_send_error (self, c, "bad-request",
        "a call has two parties", msg);
    return;
  }
  by_caller = strcmp (role, "caller") == 0;
  pk = g_bytes_get_data (peer_key, NULL);

  call = g_hash_table_lookup (self->calls, call_id);
  if (call) {
    const char *asker_role = strcmp (call->caller, c->fp) == 0 ? "caller" :
        strcmp (call->callee, c->fp) == 0 ? "callee" : NULL;

    /* Someone else's call looks exactly like no call. */
    if (asker_role == NULL) {
      _wzp_relay_send_error (self, c, "unknown-call", "no such call", msg);
      return;
    }
    if (call->state == CALL_ACTIVE) {
      /* We never lost it (the party's connection did): same channel;
       * its media channel latches again from the new connection. */
      _wzp_relay_channels_rebind (self, call, strcmp (asker_role, "caller")
          == 0 ? 0 : 1, c);
      send_resumed (self, c, call, msg);
      return;
    }
    if (call->state == CALL_RINGING) {
      _wzp_relay_send_error (self, c, "bad-state",
          "the call is ringing, not set up", msg);
      return;
    }
    if (strcmp (asker_role, role) != 0 || !wzp_call_proof_equal (&proof,
            &call->proof)) {
      WZP_INFO_OBJECT (self, "call %s: %s asks to resume with another proof "
          "than its peer", call_id, c->fp);
      reply_call_ended (self, c, msg, call_id, "bad-proof");
      return;
    }
    if (memcmp (by_caller ? call->callee_key : call->caller_key, pk,
            WZP_PUBLIC_KEY_LEN) != 0) {
      reply_call_ended (self, c, msg, call_id, "bad-proof");
      return;
    }
    /* The party that asked first asking again (it reconnected once
     * more) waits on; the other one completes the pair. */
    if (call->proof_by_caller == by_caller)
      return;
    resume_complete (self, c, call, msg);
    return;
  }

  /* A call we do not know: only the signatures of both parties make it
   * one.  The peer's key must be the one its fingerprint names. */
  key_fp = wzp_fingerprint_from_public_key (pk);
  if (!wzp_fingerprint_equal (key_fp, peer) ||
      !wzp_call_proof_verify (&proof, by_caller ? c->fp : peer,
          by_caller ? c->public_key : pk, by_caller ? peer : c->fp,
          by_caller ? pk : c->public_key, &error)) {
    WZP_INFO_OBJECT (self, "call %s: refusing to resume for %s: %s", call_id,
        c->fp, error ? error->message : "peer key does not match");
    reply_call_ended (self, c, msg, call_id, "bad-proof");
    return;
  }
  if (g_hash_table_contains (self->fp_calls, c->fp) ||
      g_hash_table_contains (self->fp_calls, peer)) {
    reply_call_ended (self, c, msg, call_id, "busy");
    return;
  }
  call = g_new0 (RelayCall, 1);
  call->channel.kind = CHANNEL_CALL;
  call->relay = self;
  call->id = g_steal_pointer (&call_id);
  call->caller = g_strdup (by_caller ? c->fp : peer);
  call->callee = g_strdup (by_caller ? peer : c->fp);
  memcpy (call->caller_key, by_caller ? c->public_key : pk, WZP_PUBLIC_KEY_LEN);
  memcpy (call->callee_key, by_caller ? pk : c->public_key, WZP_PUBLIC_KEY_LEN);
  call->proof = proof;
  call->proof_by_caller = by_caller;
  call->state = CALL_RESUMING;
  g_hash_table_insert (self->calls, call->id, call);
  g_hash_table_insert (self->fp_calls, call->caller, call);
  g_hash_table_insert (self->fp_calls, call->callee, call);
  call->ring_timer = wzp_clock_timeout_add (self->clock, self->context,
      RESUME_WAIT, resume_timeout_cb, call, NULL);
  update_call_stats (self);
  WZP_INFO_OBJECT (self, "call %s (%s -> %s): %s asks to resume it; waiting "
      "for %s", call->id, call->caller, call->callee, c->fp, peer);
}

/* The current registration of @fp went away. */
void
_wzp_relay_calls_peer_gone (WzpRelay * self, const char *fp)
{
  RelayCall *call = g_hash_table_lookup (self->fp_calls, fp);

  if (call)
    end_call (self, call, "peer-gone", fp);
}

/* --- media ------------------------------------------------------------ */

static void
forward (WzpRelay * self, RelayClient * to, const guint8 * data, gsize len)
{
  if (wzp_connection_send_datagram (to->conn, data, len)) {
    self->stats.datagrams_forwarded++;
    self->stats.bytes_forwarded += len;
  } else {
    self->stats.datagrams_dropped++;
  }
}

/* [0x10][channel u32 BE][payload], never parsed beyond the header. */
void
_wzp_relay_forward_media (WzpRelay * self, RelayClient * c,
    const guint8 * data, gsize len)
{
  RelayChannel *ch;
  RelayCall *call;
  RelayClient *to;
  guint32 id;
  const char *why = "not registered";

  if (!c->registered)
    goto drop;
  why = "not a relay media datagram";
  if (len < WZP_RELAY_MEDIA_HEADER_LEN || data[0] != WZP_RELAY_MEDIA_TYPE)
    goto drop;
  memcpy (&id, data + 1, sizeof id);
  id = GUINT32_FROM_BE (id);
  ch = g_hash_table_lookup (self->channels, GUINT_TO_POINTER (id));
  why = "unknown channel";
  if (ch == NULL)
    goto drop;
  if (ch->kind == CHANNEL_ROOM) {
    _wzp_relay_forward_room_media (self, c, (RelayRoom *) ch, data, len);
    return;
  }
  call = (RelayCall *) ch;
  why = "call not set up";
  if (call->state != CALL_ACTIVE)
    goto drop;
  if (G_UNLIKELY (call->parties_gen != self->registrations_gen)) {
    call->parties[0] = _wzp_relay_lookup (self, call->caller);
    call->parties[1] = _wzp_relay_lookup (self, call->callee);
    call->parties_gen = self->registrations_gen;
  }
  /* @c is registered, so it is the current registration of its
   * fingerprint: comparing pointers is comparing fingerprints. */
  why = "sender is not a party";
  if (c == call->parties[0])
    to = call->parties[1];
  else if (c == call->parties[1])
    to = call->parties[0];
  else
    goto drop;
  why = "peer not registered";
  if (to == NULL)
    goto drop;
  /* A party whose channel works gets it there (the sender's does not). */
  if (_wzp_relay_channels_deliver (self, call, to == call->parties[0] ? 0 : 1,
          data, len))
    return;
  forward (self, to, data, len);
  return;

drop:
  self->stats.datagrams_dropped++;
  WZP_TRACE_OBJECT (self, "dropped a %" G_GSIZE_FORMAT " byte datagram from "
      "%s: %s", len, c->fp, why);
}

void
_wzp_relay_forward_room_media (WzpRelay * self, RelayClient * c,
    RelayRoom * room, const guint8 * data, gsize len)
{
  GHashTableIter it;
  gpointer key;

  if (!g_hash_table_contains (room->members, c->fp)) {
    self->stats.datagrams_dropped++;
    return;
  }
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    RelayClient *to;
    if (strcmp (key, c->fp) == 0)
      continue;
    to = _wzp_relay_lookup (self, key);
    if (to)
      forward (self, to, data, len);
  }
}
