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
 * In a cluster a call lives on one node, its home (the callee's node
 * when it is placed; wherever it is resumed after that node died).  A
 * party registered at another node reaches it as a stub (its requests
 * and our replies cross the bus) and sends and receives media through a
 * media leg to this node ("media_relay" tells it where).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

/* Setup messages are timed to arrive together when the RTTs differ by
 * more than this. */
#define SETUP_SKEW_MIN (1 * WZP_NSEC_PER_MSEC)
/* How long a call one party resumed waits for the other party: both learn
 * that the relay is back within a second or two of each other. */
#define RESUME_WAIT (10 * WZP_NSEC_PER_SEC)
/* How long a setup waits for the media leg of a party of another node
 * (it opens the leg when its call rings, so usually it is there). */
#define RELAY_LEG_WAIT (1 * WZP_NSEC_PER_SEC)

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
  g_clear_pointer (&call->leg_timer, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&call->pending_setup, json_object_unref);
  g_free (call->pending_to);
  _wzp_relay_stub_free (call->stubs[0]);
  _wzp_relay_stub_free (call->stubs[1]);
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
  if (call->hosted)
    relay_cluster_call_hosted (self->cluster, call->id, FALSE);
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

/* @c asked something about @call: remember how to reach it if it is a
 * party registered at another node (its latest request says best). */
static void
note_party (RelayCall * call, RelayClient * c)
{
  guint i = strcmp (call->caller, c->fp) == 0 ? 0 : 1;

  if (c->remote_node == NULL) {
    g_clear_pointer (&call->stubs[i], _wzp_relay_stub_free);
    return;
  }
  _wzp_relay_stub_free (call->stubs[i]);
  call->stubs[i] = _wzp_relay_stub_dup (c);
}

/* A party: its registration here, else what its last request from
 * another node told us; NULL if neither. */
static RelayClient *
party (WzpRelay * self, RelayCall * call, guint i)
{
  RelayClient *c = _wzp_relay_lookup (self, i == 0 ? call->caller :
      call->callee);

  return c ? c : call->stubs[i];
}

static gboolean
busy (WzpRelay * self, const char *fp)
{
  return g_hash_table_contains (self->fp_calls, fp) ||
      relay_cluster_in_routed_call (self->cluster, fp);
}

static void
set_hosted (WzpRelay * self, RelayCall * call)
{
  if (self->cluster && !call->hosted) {
    call->hosted = TRUE;
    relay_cluster_call_hosted (self->cluster, call->id, TRUE);
  }
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
  if (busy (self, c->fp) || busy (self, to)) {
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
  note_party (call, c);
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
  /* A caller of another node opens its media leg to us while it rings. */
  _wzp_relay_add_media_relay (self, ringing, c->fp);
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
  guint i = strcmp (call->pending_to, call->caller) == 0 ? 0 : 1;
  RelayClient *c = party (self, call, i);

  g_clear_pointer (&call->setup_timer, g_source_unref);
  if (c)
    _wzp_relay_send (self, c, g_steal_pointer (&call->pending_setup));
  g_clear_pointer (&call->pending_setup, json_object_unref);
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
  /* A party of another node sends and receives through a leg to us. */
  _wzp_relay_add_media_relay (call->relay, m, for_caller ? call->caller :
      call->callee);
  /* Our media channel (PROTOCOL.md §7). */
  _wzp_relay_channels_describe (call->relay, call, for_caller ? 0 : 1, m);
  return m;
}

/* Sends call-setup to both, delaying the nearer one by half the RTT
 * difference so both arrive together (what simultaneous hole punching
 * through two "masquerade" NATs needs). */
static void
send_setup_now (WzpRelay * self, RelayCall * call, RelayClient * caller,
    RelayClient * callee)
{
  JsonObject *to_caller, *to_callee;
  RelayClient *near;
  JsonObject *near_msg;
  guint64 delay;
  /* A party of another node: its RTT to its own node (the bus between
   * nodes adds well under a millisecond inside a data centre). */
  guint64 a_rtt = _wzp_relay_client_rtt (caller);
  guint64 b_rtt = _wzp_relay_client_rtt (callee);

  /* Now that every party has its connection here (a party of another
   * node: its media leg), the media channels can latch to them. */
  _wzp_relay_channels_open (self, call);
  to_caller = setup_for (call, TRUE, callee);
  to_callee = setup_for (call, FALSE, caller);

  delay = (a_rtt > b_rtt ? a_rtt - b_rtt : b_rtt - a_rtt) / 2;
  WZP_DEBUG_OBJECT (self, "call %s: RTT caller %" G_GUINT64_FORMAT
      " us, callee %" G_GUINT64_FORMAT " us: delaying the nearer by %"
      G_GUINT64_FORMAT " us", call->id, a_rtt / 1000, b_rtt / 1000,
      delay / 1000);
  /* Through the bus even a small skew means the local party's first
   * media overtakes the remote party's setup. */
  if (delay < SETUP_SKEW_MIN && caller->conn && callee->conn) {
    _wzp_relay_send (self, caller, to_caller);
    _wzp_relay_send (self, callee, to_callee);
    return;
  }
  if (delay == 0)
    delay = 1;
  if (a_rtt > b_rtt) {
    _wzp_relay_send (self, caller, to_caller);
    near = callee;
    near_msg = to_callee;
  } else {
    _wzp_relay_send (self, callee, to_callee);
    near = caller;
    near_msg = to_caller;
  }
  call->pending_to = g_strdup (near->fp);
  call->pending_setup = near_msg;
  call->setup_timer = wzp_clock_timeout_add (self->clock, self->context,
      delay, setup_timer_cb, call, NULL);
}

/* A party of another node that has no media leg here yet: its setup would
 * let the peer's first media arrive with nowhere to go. */
static gboolean
waits_for_leg (WzpRelay * self, RelayCall * call)
{
  for (guint i = 0; i < 2; i++) {
    const char *fp = i == 0 ? call->caller : call->callee;
    if (_wzp_relay_lookup (self, fp) == NULL &&
        _wzp_relay_lookup_media_leg (self, fp) == NULL)
      return TRUE;
  }
  return FALSE;
}

static void
setup_after_leg (WzpRelay * self, RelayCall * call)
{
  RelayClient *caller = party (self, call, 0);
  RelayClient *callee = party (self, call, 1);

  g_clear_pointer (&call->leg_timer, wzp_clock_source_destroy_and_unref);
  if (caller && callee)
    send_setup_now (self, call, caller, callee);
}

static gboolean
leg_timeout_cb (gpointer data)
{
  RelayCall *call = data;

  g_clear_pointer (&call->leg_timer, g_source_unref);
  WZP_INFO_OBJECT (call->relay, "call %s: no media leg within %"
      G_GUINT64_FORMAT " ms: setting it up anyway", call->id,
      RELAY_LEG_WAIT / WZP_NSEC_PER_MSEC);
  setup_after_leg (call->relay, call);
  return G_SOURCE_REMOVE;
}

/* A call with a party of another node: its setup waits until that party's
 * media leg is here (it opened it while the call rang, so only an
 * answer faster than one leg handshake waits), so that no first frame is
 * lost; at most RELAY_LEG_WAIT. */
static void
send_setup (WzpRelay * self, RelayCall * call, RelayClient * caller,
    RelayClient * callee)
{
  if (self->cluster && waits_for_leg (self, call)) {
    WZP_DEBUG_OBJECT (self, "call %s: the setup waits for a media leg",
        call->id);
    call->leg_timer = wzp_clock_timeout_add (self->clock, self->context,
        RELAY_LEG_WAIT, leg_timeout_cb, call, NULL);
    return;
  }
  send_setup_now (self, call, caller, callee);
}

static void send_resumed (WzpRelay * self, RelayClient * c, RelayCall * call,
    JsonObject * request);

/* @fp's media leg is here (new, or a newer one).  A setup that waited
 * for it goes out; a carried call's channel latches from the new leg; a
 * call carried again before the leg came (its home died, the new home
 * had no connection of this party) gets its media channels now, and both
 * parties hear of them in a call-resumed they did not ask for. */
void
_wzp_relay_calls_leg_ready (WzpRelay * self, const char *fp)
{
  RelayCall *call = g_hash_table_lookup (self->fp_calls, fp);
  RelayClient *caller, *callee;

  if (call == NULL)
    return;
  if (call->leg_timer) {
    if (!waits_for_leg (self, call))
      setup_after_leg (self, call);
    return;
  }
  if (call->state != CALL_ACTIVE || call->setup_timer)
    return;
  if (call->legs[0]) {
    _wzp_relay_channels_rebind (self, call, strcmp (call->caller, fp) == 0 ?
        0 : 1);
    return;
  }
  caller = party (self, call, 0);
  callee = party (self, call, 1);
  if (caller == NULL || callee == NULL || !_wzp_relay_channels_open (self,
          call))
    return;
  WZP_INFO_OBJECT (self, "call %s: media channels now that %s's media leg "
      "is here", call->id, fp);
  send_resumed (self, caller, call, NULL);
  send_resumed (self, callee, call, NULL);
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
  note_party (call, c);
  caller = party (self, call, 0);
  if (caller == NULL) {
    end_call (self, call, "peer-gone", NULL);
    return;
  }
  call->answer = g_steal_pointer (&answer);
  call->state = CALL_ACTIVE;
  set_hosted (self, call);
  if (call->ring_timer) {
    g_source_destroy (call->ring_timer);
    g_clear_pointer (&call->ring_timer, g_source_unref);
  }
  update_call_stats (self);
  WZP_INFO_OBJECT (self, "call %s answered", call->id);
  send_setup (self, call, caller, c);
}

/* A party's network changed mid-call (PROTOCOL.md §5): the other party
 * gets its new host candidates, its NAT type and the address we see it
 * at now (its connection has migrated to it). */
void
_wzp_relay_handle_update_candidates (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) candidates = NULL;
  RelayCall *call = lookup_own_call (self, c, msg);
  const char *nat = NULL;
  const char *peer_fp;

  if (call == NULL)
    return;
  if (!wzp_message_get_address_list (msg, "candidates",
          WZP_MESSAGE_MAX_CANDIDATES, &candidates, &error) ||
      !wzp_message_get_string (msg, "nat", FALSE, 16, &nat, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (call->state != CALL_ACTIVE) {
    _wzp_relay_send_error (self, c, "bad-state",
        "candidates change only in a call that is set up", msg);
    return;
  }
  /* The relay's own word on the NAT type beats the party's claim when it
   * has one (as in call-setup). */
  if (strcmp (c->nat, "unknown") != 0 || nat == NULL ||
      (strcmp (nat, "eim") != 0 && strcmp (nat, "edm") != 0))
    nat = c->nat;
  peer_fp = strcmp (call->caller, c->fp) == 0 ? call->callee : call->caller;
  WZP_INFO_OBJECT (self, "call %s: %s moved (now at %s, NAT %s, %u host "
      "candidates)", call->id, c->fp, c->observed, nat,
      g_strv_length (candidates));
  _wzp_relay_send_to (self, peer_fp, wzp_message_new_peer_candidates
      (call->id, (const char *const *) candidates, c->observed, nat));
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
  _wzp_relay_add_media_relay (self, m, c->fp);
  _wzp_relay_send (self, c, m);
}

/* The second party asked with the same proof: the call is back. */
static void
resume_complete (WzpRelay * self, RelayClient * c, RelayCall * call,
    JsonObject * msg)
{
  guint other = strcmp (call->caller, c->fp) == 0 ? 1 : 0;
  RelayClient *first;

  note_party (call, c);
  first = party (self, call, other);

  if (call->ring_timer) {
    g_source_destroy (call->ring_timer);
    g_clear_pointer (&call->ring_timer, g_source_unref);
  }
  call->state = CALL_ACTIVE;
  set_hosted (self, call);
  _wzp_relay_allocate_channel (self, &call->channel);
  _wzp_relay_channels_open (self, call);
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
      note_party (call, c);
      _wzp_relay_channels_rebind (self, call, strcmp (asker_role, "caller")
          == 0 ? 0 : 1);
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
  call->stubs[by_caller ? 0 : 1] = c->remote_node ? _wzp_relay_stub_dup (c) :
      NULL;
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
  /* Claimed as ours when it was asked through the cluster. */
  call->hosted = self->cluster != NULL;
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
    call->parties[0] = _wzp_relay_media_target (self, call->caller);
    call->parties[1] = _wzp_relay_media_target (self, call->callee);
    call->senders[0] = _wzp_relay_lookup (self, call->caller);
    call->senders[1] = _wzp_relay_lookup_media_leg (self, call->caller);
    call->senders[2] = _wzp_relay_lookup (self, call->callee);
    call->senders[3] = _wzp_relay_lookup_media_leg (self, call->callee);
    call->parties_gen = self->registrations_gen;
  }
  /* @c is registered (or a media leg), so it is the current registration
   * (or leg) of its fingerprint: comparing pointers is comparing
   * fingerprints. */
  why = "sender is not a party";
  if (c == call->senders[0] || c == call->senders[1])
    to = call->parties[1];
  else if (c == call->senders[2] || c == call->senders[3])
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
    to = _wzp_relay_media_target (self, key);
    if (to)
      forward (self, to, data, len);
  }
}
