/* wzp — the relay's reflexive address and NAT-type probes (PROTOCOL.md
 * §4)
 *
 * A probe is a token the client announces on its signaling connection
 * (probe-request) and sends as a raw UDP packet to the probe port; the
 * address the packet comes from tells the client (and the relay) whether
 * its NAT maps endpoint-independently.  Either may arrive first, so the
 * relay keeps pending tokens and unclaimed raw packets for
 * PROBE_LIFETIME.
 *
 * Both tables are shared by all clients, so each client may hold at most
 * max-pending-probes-per-client pending tokens (and each source address as
 * many unclaimed raw packets): one client filling the table would
 * otherwise make every other client's probe fail ("too-many") and its NAT
 * type unknown.  max-pending-probes bounds each table.
 *
 * A helper of the core: it reads the registration table and sends
 * through wzp-relay-registry.c, never calls back into wzp-relay.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

/* Pending probe tokens and unclaimed probe packets live this long. */
#define PROBE_LIFETIME (10 * WZP_NSEC_PER_SEC)

typedef struct
{
  WzpRelay *relay;
  char *fp;                     /* probes: who asked */
  char observed[WZP_ADDR_STRLEN];       /* raw_seen: where it came from */
  WzpSource source;             /* raw_seen: the sender's source */
  guint64 deadline;
} ProbeEntry;

static void
probe_entry_free (gpointer p)
{
  ProbeEntry *e = p;
  WzpRelay *self = e->relay;

  /* Whatever ends an entry (answered, expired, the relay stopping) gives
   * its owner's quota back. */
  if (e->fp) {
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->probes_per_fp,
            e->fp));
    if (n <= 1)
      g_hash_table_remove (self->probes_per_fp, e->fp);
    else
      g_hash_table_insert (self->probes_per_fp, g_strdup (e->fp),
          GUINT_TO_POINTER (n - 1));
  } else {
    wzp_source_counter_remove (self->raw_per_source, &e->source);
  }
  g_free (e->fp);
  g_free (e);
}

void
_wzp_relay_probes_init (WzpRelay * self)
{
  self->probes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      probe_entry_free);
  self->raw_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      probe_entry_free);
  self->probes_per_fp = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, NULL);
  self->raw_per_source = wzp_source_counter_new ();
}

void
_wzp_relay_probes_clear (WzpRelay * self)
{
  g_hash_table_remove_all (self->probes);
  g_hash_table_remove_all (self->raw_seen);
}

void
_wzp_relay_probes_free (WzpRelay * self)
{
  g_clear_pointer (&self->probes, g_hash_table_unref);
  g_clear_pointer (&self->raw_seen, g_hash_table_unref);
  g_clear_pointer (&self->probes_per_fp, g_hash_table_unref);
  g_clear_pointer (&self->raw_per_source, wzp_source_counter_free);
}

guint
_wzp_relay_probes_pending (WzpRelay * self)
{
  return g_hash_table_size (self->probes);
}

void
_wzp_relay_handle_reflect (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  JsonObject *reply = wzp_message_new_reflected (c->observed);
  guint32 req;

  if (wzp_message_get_req (msg, &req))
    wzp_message_set_re (reply, req);
  _wzp_relay_send (self, c, reply);
}

static void
expire_probes (WzpRelay * self, GHashTable * table)
{
  GHashTableIter it;
  gpointer value;
  guint64 now = wzp_clock_get_time (self->clock);

  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ProbeEntry *e = value;
    if (e->deadline <= now)
      g_hash_table_iter_remove (&it);
  }
}

static void
send_probe_result (WzpRelay * self, RelayClient * c, const char *token_hex,
    const char *observed)
{
  guint8 token[WZP_PROBE_TOKEN_LEN];

  for (guint i = 0; i < WZP_PROBE_TOKEN_LEN; i++)
    token[i] = (g_ascii_xdigit_value (token_hex[2 * i]) << 4) |
        g_ascii_xdigit_value (token_hex[2 * i + 1]);
  self->stats.probes_answered++;
  /* The same classification the client makes (PROTOCOL.md §4); kept per
   * connection for call-setup's peer_nat. */
  c->nat = strcmp (observed, c->observed) == 0 ? "eim" : "edm";
  WZP_DEBUG_OBJECT (self, "probe from %s: seen at %s (signaling from %s): %s",
      c->fp, observed, c->observed, c->nat);
  /* The home of a call it placed at another node needs it too. */
  relay_cluster_nat_changed (self->cluster, c);
  _wzp_relay_send (self, c, wzp_message_new_probe_result (token, observed));
}

static char *
token_hex (const guint8 * token)
{
  char *s = g_malloc (2 * WZP_PROBE_TOKEN_LEN + 1);

  for (guint i = 0; i < WZP_PROBE_TOKEN_LEN; i++)
    g_snprintf (s + 2 * i, 3, "%02x", token[i]);
  return s;
}

static void
refuse_probe (WzpRelay * self, RelayClient * c, RelayRefusal why,
    const char *text, JsonObject * msg)
{
  RELAY_REFUSE (self, why, "%s: refused a NAT probe from %s (%s)",
      relay_refusal_name (why), c->fp, c->observed);
  _wzp_relay_send_error (self, c, "too-many", text, msg);
}

void
_wzp_relay_handle_probe_request (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  g_autoptr (GBytes) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hex = NULL;
  ProbeEntry *seen, *e;
  guint mine;

  if (!wzp_message_get_bytes (msg, "token", TRUE, WZP_PROBE_TOKEN_LEN,
          WZP_PROBE_TOKEN_LEN, &token, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (self->probe_endpoint == NULL) {
    _wzp_relay_send_error (self, c, "no-probe",
        "this relay has no probe address", msg);
    return;
  }
  expire_probes (self, self->probes);
  expire_probes (self, self->raw_seen);
  hex = token_hex (g_bytes_get_data (token, NULL));
  /* The raw packet may have overtaken the request. */
  seen = g_hash_table_lookup (self->raw_seen, hex);
  if (seen) {
    send_probe_result (self, c, hex, seen->observed);
    g_hash_table_remove (self->raw_seen, hex);
    return;
  }
  /* A token already pending (a repeated request) takes no new slot. */
  if (g_hash_table_contains (self->probes, hex))
    g_hash_table_remove (self->probes, hex);
  mine = GPOINTER_TO_UINT (g_hash_table_lookup (self->probes_per_fp, c->fp));
  if (mine >= self->limits.max_pending_probes_per_client) {
    refuse_probe (self, c, RELAY_REFUSED_PENDING_PROBES_PER_CLIENT,
        "too many of your probes pending", msg);
    return;
  }
  if (g_hash_table_size (self->probes) >= self->limits.max_pending_probes) {
    refuse_probe (self, c, RELAY_REFUSED_MAX_PENDING_PROBES,
        "too many probes pending", msg);
    return;
  }
  e = g_new0 (ProbeEntry, 1);
  e->relay = self;
  e->fp = g_strdup (c->fp);
  e->deadline = wzp_clock_get_time (self->clock) + PROBE_LIFETIME;
  g_hash_table_insert (self->probes_per_fp, g_strdup (c->fp),
      GUINT_TO_POINTER (mine + 1));
  g_hash_table_replace (self->probes, g_steal_pointer (&hex), e);
}

void
_wzp_relay_on_probe_packet (WzpEndpoint * ep, const WzpAddr * from,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpRelay *self = user_data;
  g_autofree char *hex = NULL;
  char observed[WZP_ADDR_STRLEN];
  WzpSource source;
  ProbeEntry *e;

  if (len != WZP_PROBE_PACKET_LEN || data[0] != WZP_PROBE_PACKET_TYPE)
    return;
  hex = token_hex (data + 1);
  wzp_addr_to_string (from, observed);
  e = g_hash_table_lookup (self->probes, hex);
  if (e) {
    RelayClient *c = _wzp_relay_lookup (self, e->fp);
    if (c)
      send_probe_result (self, c, hex, observed);
    g_hash_table_remove (self->probes, hex);
    return;
  }
  /* Unclaimed (it overtook its request, or is a retry): remember briefly,
   * within the sender's share of the table.  Raw packets need no
   * handshake, so their source may be spoofed: a full table only delays
   * a real client's probe until its next raw packet (every 200 ms), which
   * then finds its request pending. */
  if (g_hash_table_contains (self->raw_seen, hex))
    return;
  wzp_source_from_addr (&source, from);
  if (g_hash_table_size (self->raw_seen) >= self->limits.max_pending_probes ||
      wzp_source_counter_get (self->raw_per_source, &source) >=
      self->limits.max_pending_probes_per_client)
    expire_probes (self, self->raw_seen);
  if (g_hash_table_size (self->raw_seen) >= self->limits.max_pending_probes ||
      wzp_source_counter_get (self->raw_per_source, &source) >=
      self->limits.max_pending_probes_per_client)
    return;
  e = g_new0 (ProbeEntry, 1);
  e->relay = self;
  memcpy (e->observed, observed, sizeof observed);
  e->source = source;
  e->deadline = wzp_clock_get_time (self->clock) + PROBE_LIFETIME;
  wzp_source_counter_add (self->raw_per_source, &source);
  g_hash_table_insert (self->raw_seen, g_steal_pointer (&hex), e);
}
