/* Tests of the cluster's pure parts: the bus envelope and node record
 * codecs (relay/wzp-relay-envelope.c), Redis URLs
 * (relay/wzp-relay-redis.c), and the client's relay list: parsing and the
 * rendezvous order (lib/call/wzp-call-relays.c).  The cluster itself, with
 * a real redis-server, is the "cluster" suite (tests/cluster).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include "wzp-relay-envelope.h"
#include "wzp-relay-redis.h"
#include "wzp-call-relays.h"
#include "wzp-identity.h"
#include "wzp-address.h"
#include "wzp-message.h"

#define FP "0a1b:2c3d:4e5f:6071:8293:a4b5:c6d7:e8f9"
#define FP2 "1111:2222:3333:4444:5555:6666:7777:8888"
#define NODE "0123456789abcdef"
#define CALL_ID "00112233445566778899aabbccddeeff"

static RelayEnvelope *
roundtrip (RelayEnvelope * env)
{
  gsize len = 0;
  g_autofree char *json = relay_envelope_to_json (env, &len);
  g_autoptr (GError) error = NULL;
  RelayEnvelope *back = relay_envelope_parse (json, len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpint (back->kind, ==, env->kind);
  g_assert_cmpstr (back->from, ==, env->from);
  return back;
}

static void
test_envelope_roundtrip (void)
{
  g_autoptr (RelayEnvelope) client = relay_envelope_new
      (RELAY_ENVELOPE_CLIENT, NODE);
  g_autoptr (RelayEnvelope) deliver = relay_envelope_new
      (RELAY_ENVELOPE_DELIVER, NODE);
  g_autoptr (RelayEnvelope) check = relay_envelope_new
      (RELAY_ENVELOPE_CHECK, NODE);
  g_autoptr (RelayEnvelope) nat = relay_envelope_new (RELAY_ENVELOPE_NAT, NODE);
  g_autoptr (RelayEnvelope) back = NULL;
  g_autoptr (JsonObject) call = wzp_message_new_call (FP2, CALL_ID, NULL);
  guint8 key[WZP_PUBLIC_KEY_LEN];

  for (guint i = 0; i < sizeof key; i++)
    key[i] = i;
  client->fp = g_strdup (FP);
  memcpy (client->public_key, key, sizeof key);
  client->observed = g_strdup ("[2001:db8::1]:4000");
  client->nat = "edm";
  client->rtt_us = 12345;
  json_object_set_object_member (call, "offer", json_object_new ());
  client->raw = wzp_message_to_bytes (call);
  back = roundtrip (client);
  g_assert_cmpstr (back->fp, ==, FP);
  g_assert_cmpmem (back->public_key, sizeof key, key, sizeof key);
  g_assert_cmpstr (back->observed, ==, "[2001:db8::1]:4000");
  g_assert_cmpstr (back->nat, ==, "edm");
  g_assert_cmpuint (back->rtt_us, ==, 12345);
  g_assert_true (g_bytes_equal (back->raw, client->raw));
  g_clear_pointer (&back, relay_envelope_free);

  deliver->fp = g_strdup (FP2);
  deliver->hops = 1;
  deliver->raw = g_bytes_ref (client->raw);
  back = roundtrip (deliver);
  g_assert_cmpstr (back->fp, ==, FP2);
  g_assert_cmpuint (back->hops, ==, 1);
  g_clear_pointer (&back, relay_envelope_free);

  check->ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (check->ids, g_strdup (CALL_ID));
  back = roundtrip (check);
  g_assert_cmpuint (back->ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (back->ids, 0), ==, CALL_ID);
  g_clear_pointer (&back, relay_envelope_free);

  nat->fp = g_strdup (FP);
  nat->nat = "eim";
  back = roundtrip (nat);
  g_assert_cmpstr (back->nat, ==, "eim");
}

/* Every way an envelope can be wrong is refused with a message that says
 * which field. */
static void
test_envelope_bad (void)
{
  static const struct
  {
    const char *json;
    const char *says;
  } bad[] = {
    {"", "not a JSON object"},
    {"[1]", "not a JSON object"},
    {"{\"v\":2,\"kind\":\"gone\",\"from\":\"" NODE "\",\"fp\":\"" FP "\"}",
        "version"},
    {"{\"v\":1,\"kind\":\"teleport\",\"from\":\"" NODE "\"}", "unknown kind"},
    {"{\"v\":1,\"kind\":\"gone\",\"from\":\"0123\",\"fp\":\"" FP "\"}",
        "'from'"},
    {"{\"v\":1,\"kind\":\"gone\",\"from\":\"0123456789ABCDEF\",\"fp\":\"" FP
          "\"}", "'from'"},
    {"{\"v\":1,\"kind\":\"gone\",\"from\":\"" NODE "\"}", "'fp' missing"},
    {"{\"v\":1,\"kind\":\"gone\",\"from\":\"" NODE "\",\"fp\":\"0A1B\"}",
        "not a fingerprint"},
    {"{\"v\":1,\"kind\":\"nat\",\"from\":\"" NODE "\",\"fp\":\"" FP
          "\",\"nat\":\"cone\"}", "'nat'"},
    {"{\"v\":1,\"kind\":\"client\",\"from\":\"" NODE "\",\"fp\":\"" FP
          "\",\"key\":\"AAAA\",\"observed\":\"1.2.3.4:5\",\"nat\":\"eim\","
          "\"rtt_us\":1,\"raw\":\"{}\"}", "'key'"},
    {"{\"v\":1,\"kind\":\"client\",\"from\":\"" NODE "\",\"fp\":\"" FP
          "\",\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
          "\"observed\":\"nowhere\",\"nat\":\"eim\",\"rtt_us\":1,"
          "\"raw\":\"{}\"}", "'observed'"},
    {"{\"v\":1,\"kind\":\"client\",\"from\":\"" NODE "\",\"fp\":\"" FP
          "\",\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
          "\"observed\":\"1.2.3.4:5\",\"nat\":\"eim\",\"rtt_us\":-1,"
          "\"raw\":\"{}\"}", "'rtt_us'"},
    {"{\"v\":1,\"kind\":\"deliver\",\"from\":\"" NODE "\",\"to\":\"" FP
          "\"}", "'raw' missing"},
    {"{\"v\":1,\"kind\":\"check\",\"from\":\"" NODE "\",\"ids\":[\"xyz\"]}",
        "not a call id"},
    {"{\"v\":1,\"kind\":\"ping\",\"from\":\"" NODE "\"}", "'sent_us'"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    RelayEnvelope *env = relay_envelope_parse (bad[i].json,
        strlen (bad[i].json), &error);

    g_assert_null (env);
    g_assert_nonnull (error);
    if (strstr (error->message, bad[i].says) == NULL)
      g_error ("%s: '%s' does not say %s", bad[i].json, error->message,
          bad[i].says);
  }
  /* Not UTF-8, NUL inside, too large. */
  {
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;
    g_autoptr (GError) e3 = NULL;
    g_autofree char *big = g_strnfill (RELAY_ENVELOPE_MAX_SIZE + 1, ' ');

    g_assert_null (relay_envelope_parse ("{\"v\":\xff}", 8, &e1));
    g_assert_null (relay_envelope_parse ("{}\0{}", 5, &e2));
    g_assert_null (relay_envelope_parse (big, strlen (big), &e3));
    g_assert_nonnull (strstr (e3->message, "larger"));
  }
}

static void
test_node_record (void)
{
  RelayNode n = { 0 };
  g_autofree char *json = NULL;
  g_autoptr (RelayNode) back = NULL;
  g_autoptr (GError) error = NULL;

  n.id = (char *) NODE;
  n.addr = (char *) "198.51.100.8:4433";
  n.probe = NULL;
  n.fingerprint = (char *) FP;
  n.registrations = 7;
  n.calls = 2;
  n.draining = TRUE;
  json = relay_node_to_json (&n);
  back = relay_node_from_json (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->id, ==, NODE);
  g_assert_cmpstr (back->addr, ==, n.addr);
  g_assert_null (back->probe);
  g_assert_cmpstr (back->fingerprint, ==, FP);
  g_assert_cmpuint (back->registrations, ==, 7);
  g_assert_cmpuint (back->calls, ==, 2);
  g_assert_true (back->draining);
  g_clear_pointer (&back, relay_node_free);
  back = relay_node_from_json ("{\"v\":1,\"id\":\"" NODE "\"}", 27, &error);
  g_assert_null (back);
  g_assert_nonnull (error);
}

static void
test_redis_url (void)
{
  static const struct
  {
    const char *url;
    const char *host;
    guint port;
    const char *path;
    guint db;
    const char *password;
  } good[] = {
    {"redis://127.0.0.1:6380/2", "127.0.0.1", 6380, NULL, 2, NULL},
    {"redis://redis.internal", "redis.internal", 6379, NULL, 0, NULL},
    {"redis://[::1]:7000/", "::1", 7000, NULL, 0, NULL},
    {"redis://:s3cret@10.0.0.5:6379/1", "10.0.0.5", 6379, NULL, 1, "s3cret"},
    {"redis://user:pw@h:1", "h", 1, NULL, 0, "pw"},
    {"unix:/run/redis/redis.sock", NULL, 0, "/run/redis/redis.sock", 0, NULL},
    {"unix:/tmp/r.sock?db=3", NULL, 0, "/tmp/r.sock", 3, NULL},
  };
  static const char *const bad[] = {
    "", "127.0.0.1:6379", "http://h:1", "redis://", "redis://h:99999",
    "redis://h:1/16", "redis://h:1/x", "unix:relative.sock",
    "unix:/tmp/r.sock?database=1", "unix:/tmp/r.sock?db=99",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    RelayRedisTarget t = { 0 };
    g_autoptr (GError) error = NULL;
    g_autofree char *shown = NULL;

    g_assert_true (relay_redis_target_parse (good[i].url, &t, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (t.host, ==, good[i].host);
    g_assert_cmpstr (t.path, ==, good[i].path);
    if (good[i].host)
      g_assert_cmpuint (t.port, ==, good[i].port);
    g_assert_cmpuint (t.db, ==, good[i].db);
    g_assert_cmpstr (t.password, ==, good[i].password);
    /* The description never shows the password. */
    shown = relay_redis_target_describe (&t);
    if (good[i].password)
      g_assert_null (strstr (shown, good[i].password));
    relay_redis_target_clear (&t);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    RelayRedisTarget t = { 0 };
    g_autoptr (GError) error = NULL;

    if (relay_redis_target_parse (bad[i], &t, &error))
      g_error ("'%s' parsed", bad[i]);
    g_assert_nonnull (error);
    g_assert_null (t.host);
  }
}

static void
test_relay_list_parse (void)
{
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  WzpRelayEntry *e;
  static const char *const bad[] = {
    "", "host", "host:0", "host:65536", ":4433", "2001:db8::1:4433",
    "[2001:db8::1:4433", "a:1,,b:2", "a:1,b", "a b:1",
  };

  list = _wzp_relay_list_parse ("relay1.example.org:4433, 10.0.0.1:4434,"
      "[2001:db8::1]:4435", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  e = g_ptr_array_index (list, 0);
  g_assert_cmpstr (e->host, ==, "relay1.example.org");
  g_assert_cmpuint (e->port, ==, 4433);
  g_assert_null (e->numeric);
  e = g_ptr_array_index (list, 1);
  g_assert_nonnull (e->numeric);
  e = g_ptr_array_index (list, 2);
  g_assert_cmpstr (e->host, ==, "2001:db8::1");
  g_assert_nonnull (e->numeric);
  g_assert_null (_wzp_relay_list_numeric (list));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    g_autoptr (GPtrArray) l = _wzp_relay_list_parse (bad[i], &err);

    if (l)
      g_error ("'%s' parsed", bad[i]);
    g_assert_error (err, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS);
    g_assert_false (wzp_relay_list_check (bad[i], NULL));
  }
  g_assert_true (wzp_relay_list_check ("a:1,b:2", NULL));
}

typedef struct
{
  GPtrArray *got;
  gboolean done;
} Resolved;

static void
on_resolved (GPtrArray * addresses, const GError * error, gpointer data)
{
  Resolved *r = data;

  g_assert_no_error ((GError *) error);
  r->got = g_ptr_array_ref (addresses);
  r->done = TRUE;
}

/* A host name is every address it has (IPv4 first), and IP addresses
 * keep their place. */
static void
test_relay_list_resolve (void)
{
  g_autoptr (GPtrArray) list = _wzp_relay_list_parse ("10.0.0.9:1,"
      "localhost:4433", NULL);
  Resolved r = { 0 };
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  _wzp_relay_list_resolve (list, NULL, NULL, on_resolved, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (r.got->len, >=, 2);
  first = wzp_socket_address_to_string (g_ptr_array_index (r.got, 0));
  second = wzp_socket_address_to_string (g_ptr_array_index (r.got, 1));
  g_assert_cmpstr (first, ==, "10.0.0.9:1");
  g_assert_cmpstr (second, ==, "127.0.0.1:4433");
  g_ptr_array_unref (r.got);
}

static GPtrArray *
addresses (guint n)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++) {
    g_autofree char *s = g_strdup_printf ("10.0.0.%u:4433", i + 1);
    g_ptr_array_add (a, wzp_socket_address_parse (s, NULL));
  }
  return a;
}

static char *
first (GPtrArray * a)
{
  return wzp_socket_address_to_string (g_ptr_array_index (a, 0));
}

/* Rendezvous order: stable per identity, even over identities, and a
 * dead relay's clients spread over the others while nobody else moves. */
static void
test_relay_list_order (void)
{
  guint firsts[4] = { 0 };
  guint moved = 0, n = 400;

  for (guint k = 0; k < n; k++) {
    g_autoptr (WzpIdentity) id = wzp_identity_generate ();
    const char *fp = wzp_identity_get_fingerprint (id);
    g_autoptr (GPtrArray) a = addresses (4);
    g_autoptr (GPtrArray) b = addresses (4);
    g_autoptr (GPtrArray) three = addresses (4);
    g_autoptr (GPtrArray) listed = addresses (4);
    g_autofree char *fa = NULL;
    g_autofree char *fb = NULL;
    g_autofree char *f3 = NULL;
    g_autofree char *fl = NULL;

    _wzp_relay_list_order (a, fp, WZP_RELAY_SELECTION_HASH);
    for (guint i = 0; i < b->len / 2; i++) {
      gpointer t = b->pdata[i];
      b->pdata[i] = b->pdata[b->len - 1 - i];
      b->pdata[b->len - 1 - i] = t;
    }
    _wzp_relay_list_order (b, fp, WZP_RELAY_SELECTION_HASH);
    fa = first (a);
    fb = first (b);
    /* The order given does not matter. */
    g_assert_cmpstr (fa, ==, fb);
    firsts[fa[7] - '1']++;
    /* Without 10.0.0.4: only its clients change relay. */
    g_ptr_array_remove_index (three, 3);
    _wzp_relay_list_order (three, fp, WZP_RELAY_SELECTION_HASH);
    f3 = first (three);
    if (strcmp (fa, "10.0.0.4:4433") == 0) {
      moved++;
      /* ... to their second choice. */
      g_autofree char *second = wzp_socket_address_to_string
          (g_ptr_array_index (a, 1));
      g_assert_cmpstr (f3, ==, second);
    } else {
      g_assert_cmpstr (f3, ==, fa);
    }
    _wzp_relay_list_order (listed, fp, WZP_RELAY_SELECTION_LISTED);
    fl = first (listed);
    g_assert_cmpstr (fl, ==, "10.0.0.1:4433");
  }
  /* Each relay gets a fair share: 100 expected, far from 0 or 400. */
  for (guint i = 0; i < 4; i++) {
    g_test_message ("relay %u first for %u of %u", i + 1, firsts[i], n);
    g_assert_cmpuint (firsts[i], >, 50);
    g_assert_cmpuint (firsts[i], <, 150);
  }
  g_assert_cmpuint (moved, ==, firsts[3]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cluster/envelope/roundtrip", test_envelope_roundtrip);
  g_test_add_func ("/cluster/envelope/bad", test_envelope_bad);
  g_test_add_func ("/cluster/node-record", test_node_record);
  g_test_add_func ("/cluster/redis-url", test_redis_url);
  g_test_add_func ("/cluster/relay-list/parse", test_relay_list_parse);
  g_test_add_func ("/cluster/relay-list/order", test_relay_list_order);
  g_test_add_func ("/cluster/relay-list/resolve", test_relay_list_resolve);
  return g_test_run ();
}
