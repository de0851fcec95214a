/* wzp-call-early.c — media on a LAN before the relay's call-setup
 *
 * The relay's call-setup reaches both parties two relay round trips
 * after the offer.  On one LAN the callee can do better: when it answers
 * it knows everything the media needs (both ephemeral keys, so the keys
 * and the punch token; the caller's host candidates, from the offer).  So
 * it dials the caller's host candidates at once (the path manager with
 * the dialer's role given, not decided), and its first word on the
 * connection is its signed answer (the path manager's greeting).  The
 * caller's WzpPathListener has accepted the callee since the call began;
 * on the greeting the caller checks the answer as call-setup would, makes
 * its keys and its path manager (acceptor), which takes the connection
 * and agrees on it: both are ACTIVE, media on the LAN, before the relay's
 * call-setup arrives.  When it does, it is checked against what came
 * early (the same keys) and completes the picture: the relay channel for
 * a fallback, the reflexive candidates.
 *
 * Off a LAN the early dial leads nowhere; call-setup then races the usual
 * way (docs/PATH.md, "Early start").
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* The greeting: [16-byte call id][the signed answer, JSON]. */
#define GREETING_MAX (WZP_PATH_LISTENER_MAX_MESSAGE_SIZE - 1)

struct _WzpCallEarly
{
  WzpCall *call;                /* no reference: it owns us */
  gulong listener_message_id;   /* the caller waits for the answer */
  guint8 peer_eph[WZP_EPH_KEY_LEN];     /* the caller: the answer's key */
  gboolean have_peer_eph;
};

static WzpCallEarly *
early_get (WzpCall * self)
{
  if (self->early == NULL) {
    self->early = g_new0 (WzpCallEarly, 1);
    self->early->call = self;
  }
  return self->early;
}

static WzpNatType
nat_of (const char *text)
{
  WzpNatType nat = WZP_NAT_TYPE_UNKNOWN;

  if (text)
    wzp_nat_type_from_string (text, &nat);
  return nat;
}

/* --- the callee: dial the caller's LAN with the answer ---------------- */

void
_wzp_call_early_answered (WzpCall * self, JsonObject * offer,
    JsonObject * answer)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  g_autoptr (GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GBytes) greeting = NULL;
  g_autofree char *json = NULL;
  g_autoptr (JsonNode) node = NULL;
  GByteArray *g;
  JsonArray *a = NULL;
  const char *nat = NULL;
  WzpPathConfig cfg;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY || self->path ||
      self->no_early_start)
    return;
  if (wzp_message_get_array (offer, "candidates", WZP_CANDIDATES_MAX, &a,
          NULL) && a) {
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *n = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (n) &&
          json_node_get_value_type (n) == G_TYPE_STRING)
        g_ptr_array_add (hosts, g_strdup (json_node_get_string (n)));
    }
  }
  if (hosts->len == 0)
    return;
  wzp_message_get_string (offer, "nat", FALSE, 16, &nat, NULL);
  node = json_node_init_object (json_node_alloc (), answer);
  json = json_to_string (node, FALSE);
  if (strlen (json) + WZP_CALL_ID_BYTES > GREETING_MAX)
    return;
  /* Both ephemeral keys are known: the media keys too. */
  if (!_wzp_call_derive_keys (self, self->caller_eph, &error)) {
    WZP_WARNING_OBJECT (self, "no early keys: %s", error->message);
    return;
  }
  g = g_byte_array_new ();
  g_byte_array_append (g, self->call_id_bin, WZP_CALL_ID_BYTES);
  g_byte_array_append (g, (const guint8 *) json, strlen (json));
  greeting = g_byte_array_free_to_bytes (g);
  early_get (self);
  theirs = _wzp_call_peer_candidates (hosts, NULL);
  _wzp_call_path_config (self, &cfg, theirs, nat_of (nat));
  /* Only we know the other's candidates yet: we dial. */
  cfg.role = WZP_PATH_ROLE_DIALER;
  cfg.greeting = greeting;
  WZP_INFO_OBJECT (self, "dialing the caller's host candidates before the "
      "relay's call-setup");
  _wzp_call_run_path (self, &cfg);
}

/* --- the caller: the answer arrives on the direct connection ---------- */

static void
on_listener_message (WzpPathListener * listener, WzpConnection * conn,
    GBytes * bytes, gpointer data)
{
  WzpCallEarly *early = data;
  WzpCall *self = early->call;
  gsize len;
  const guint8 *m = g_bytes_get_data (bytes, &len);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  JsonNode *root;
  WzpOfferInfo info = { 0 };
  guint8 key[WZP_PUBLIC_KEY_LEN];
  WzpPathConfig cfg;

  if (len < 1 + WZP_CALL_ID_BYTES || m[0] != WZP_PATH_MSG_GREETING ||
      self->sealer || self->path || self->state != WZP_CALL_STATE_RINGING)
    return;
  if (memcmp (m + 1, self->call_id_bin, WZP_CALL_ID_BYTES) != 0) {
    WZP_DEBUG_OBJECT (self, "an early answer for another call");
    return;
  }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser,
          (const char *) m + 1 + WZP_CALL_ID_BYTES,
          len - 1 - WZP_CALL_ID_BYTES, &error) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root) ||
      !wzp_connection_get_peer_public_key (conn, key)) {
    WZP_WARNING_OBJECT (self, "an unreadable early answer: %s",
        error ? error->message : "not an object");
    return;
  }
  /* As call-setup checks it: signed by the peer (whose key TLS proved),
   * over this call and our offer's key. */
  if (!_wzp_offer_parse (json_node_get_object (root), self->call_id_bin,
          wzp_identity_get_fingerprint (self->identity), self->active_peer,
          key, self->caller_eph, &info, &error)) {
    WZP_WARNING_OBJECT (self, "refusing an early answer: %s", error->message);
    return;
  }
  memcpy (early->peer_eph, info.eph, WZP_EPH_KEY_LEN);
  early->have_peer_eph = TRUE;
  /* Both signed halves: a relay that comes back may carry it (resume). */
  _wzp_relay_leg_set_answer (&self->leg, info.eph, info.sig);
  memcpy (self->leg.peer_key, key, WZP_PUBLIC_KEY_LEN);
  if (!_wzp_call_derive_keys (self, info.eph, &error)) {
    _wzp_offer_info_clear (&info);
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER, "no media keys: %s",
        error->message);
    return;
  }
  WZP_INFO_OBJECT (self, "%s answered on the LAN, before the relay's "
      "call-setup", self->active_peer);
  theirs = _wzp_call_peer_candidates (info.candidates, NULL);
  _wzp_call_path_config (self, &cfg, theirs, nat_of (info.nat));
  cfg.role = WZP_PATH_ROLE_ACCEPTOR;
  _wzp_offer_info_clear (&info);
  /* It takes this connection from the listener (its path-ok follows). */
  _wzp_call_run_path (self, &cfg);
}

void
_wzp_call_early_listen (WzpCall * self)
{
  WzpCallEarly *early;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY || self->listener ==
      NULL || self->no_early_start)
    return;
  early = early_get (self);
  if (early->listener_message_id == 0)
    early->listener_message_id = g_signal_connect (self->listener, "message",
        G_CALLBACK (on_listener_message), early);
}

/* --- call-setup after an early start ---------------------------------- */

/* TRUE when the setup belonged to an early start and is done with. */
gboolean
_wzp_call_early_setup (WzpCall * self, WzpCallSetup * setup)
{
  WzpCallEarly *early = self->early;
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  g_autofree char *fp = NULL;
  WzpOfferInfo info = { 0 };
  gsize key_len = 0;
  const guint8 *key;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  const guint8 *expected_eph;
  WzpNatType peer_nat;

  if (early == NULL)
    return FALSE;
  g_clear_signal_handler (&early->listener_message_id, self->listener);
  /* Keys made early: the usual setup would make them again. */
  if (self->sealer == NULL || self->call_id == NULL ||
      g_strcmp0 (setup->call_id, self->call_id) != 0)
    return FALSE;
  key = setup->peer_public_key ?
      g_bytes_get_data (setup->peer_public_key, &key_len) : NULL;
  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (setup->peer_fingerprint, self->active_peer) ||
      !wzp_fingerprint_equal (fp = wzp_fingerprint_from_public_key (key),
          self->active_peer)) {
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER, "the relay set the call "
        "up with %s, not %s", setup->peer_fingerprint, self->active_peer);
    return TRUE;
  }
  /* What the relay brings must be what came early: the same keys. */
  expected_eph = self->is_caller ? early->peer_eph : self->caller_eph;
  if (!_wzp_offer_parse (setup->peer_blob, self->call_id_bin,
          self->is_caller ? me : self->active_peer,
          self->is_caller ? self->active_peer : me, key,
          self->is_caller ? self->caller_eph : NULL, &info, &error) ||
      (self->is_caller && !early->have_peer_eph) ||
      memcmp (info.eph, expected_eph, WZP_EPH_KEY_LEN) != 0) {
    _wzp_offer_info_clear (&info);
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER, "call-setup does not "
        "match what %s said on the LAN%s%s", self->active_peer,
        error ? ": " : "", error ? error->message : "");
    return TRUE;
  }
  peer_nat = nat_of (info.nat);
  if (peer_nat == WZP_NAT_TYPE_UNKNOWN)
    peer_nat = setup->peer_nat;
  if (self->is_caller)
    _wzp_relay_leg_set_answer (&self->leg, info.eph, info.sig);
  memcpy (self->leg.peer_key, key, WZP_PUBLIC_KEY_LEN);
  self->channel = setup->channel;
  if (self->setup_at == 0)
    self->setup_at = wzp_clock_get_time (self->clock);
  _wzp_relay_leg_up (&self->leg, self->channel,
      wzp_clock_get_time (self->clock));
  g_object_set (self->signal, "reconnect-max", ACTIVE_RECONNECT_MAX, NULL);
  theirs = _wzp_call_peer_candidates (info.candidates, setup->peer_reflexive);
  _wzp_offer_info_clear (&info);
  WZP_INFO_OBJECT (self, "call %s set up with %s (relay channel %u) after an "
      "early start: path %s", self->call_id, self->active_peer,
      self->channel, wzp_path_kind_to_string (wzp_path_manager_get_path
          (self->path)));
  if (self->state != WZP_CALL_STATE_ACTIVE) {
    _wzp_call_set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    _wzp_call_set_path (self, WZP_PATH_RELAY,
        "call set up: media starts on the relay");
  }
  _wzp_call_start_watchdog (self);
  if (self->path == NULL && self->path_policy != WZP_PATH_POLICY_RELAY_ONLY) {
    WzpPathConfig cfg;
    _wzp_call_path_config (self, &cfg, theirs, peer_nat);
    _wzp_call_run_path (self, &cfg);
    return TRUE;
  }
  if (self->path == NULL)
    return TRUE;
  /* On the LAN already: keep it, and know the rest for later races.
   * Otherwise race the usual way, roles decided as both sides do. */
  if (wzp_path_manager_get_path (self->path) == WZP_PATH_DIRECT)
    wzp_path_manager_learn_peer (self->path, theirs, peer_nat);
  else
    wzp_path_manager_update_peer (self->path, theirs, peer_nat);
  return TRUE;
}

/* A call that ended before it was set up (the caller gave up while we
 * rang): what the early start made goes, and the callee waits again. */
void
_wzp_call_early_abandon (WzpCall * self)
{
  if (self->early == NULL)
    return;
  _wzp_call_roam_stop (self);
  if (self->path) {
    g_signal_handlers_disconnect_by_data (self->path, self);
    wzp_path_manager_set_media_handler (self->path, NULL, NULL, NULL);
    wzp_path_manager_stop (self->path);
    g_clear_object (&self->path);
  }
  g_clear_pointer (&self->sealer, wzp_media_sealer_free);
  g_clear_pointer (&self->opener, wzp_media_opener_free);
  _wzp_call_early_stop (self);
}

void
_wzp_call_set_early_start (WzpCall * self, gboolean early)
{
  self->no_early_start = !early;
}

void
_wzp_call_early_stop (WzpCall * self)
{
  WzpCallEarly *early = g_steal_pointer (&self->early);

  if (early == NULL)
    return;
  if (self->listener)
    g_clear_signal_handler (&early->listener_message_id, self->listener);
  g_free (early);
}
