/* Fuzz target: what relay nodes of a cluster read from Redis
 * (relay/wzp-relay-envelope.c): the envelopes of the cross-node bus and
 * the node records of the registry.  Anyone who can write to Redis can
 * write these, so they are parsed as strictly as a client's message.
 *
 * The first byte picks what the rest is: even, an envelope; odd, a node
 * record.
 *
 * Checked: nothing crashes or leaks; what parses writes back to JSON that
 * parses to the same fields.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-relay-envelope.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  return 0;
}

static void
check_envelope (RelayEnvelope * env)
{
  gsize len = 0;
  char *json = relay_envelope_to_json (env, &len);
  RelayEnvelope *back = relay_envelope_parse (json, len, NULL);

  FUZZ_CHECK (back != NULL);
  FUZZ_CHECK (back->kind == env->kind);
  FUZZ_CHECK (g_str_equal (back->from, env->from));
  FUZZ_CHECK (g_strcmp0 (back->fp, env->fp) == 0);
  FUZZ_CHECK (g_strcmp0 (back->observed, env->observed) == 0);
  FUZZ_CHECK (g_str_equal (back->nat, env->nat));
  FUZZ_CHECK (back->rtt_us == env->rtt_us && back->hops == env->hops);
  FUZZ_CHECK (back->sent_us == env->sent_us);
  FUZZ_CHECK ((back->raw == NULL) == (env->raw == NULL));
  if (env->raw)
    FUZZ_CHECK (g_bytes_equal (back->raw, env->raw));
  FUZZ_CHECK ((back->ids == NULL) == (env->ids == NULL));
  if (env->ids) {
    FUZZ_CHECK (back->ids->len == env->ids->len);
    for (guint i = 0; i < env->ids->len; i++)
      FUZZ_CHECK (g_str_equal (g_ptr_array_index (back->ids, i),
              g_ptr_array_index (env->ids, i)));
  }
  FUZZ_CHECK (env->kind != RELAY_ENVELOPE_CLIENT ||
      memcmp (back->public_key, env->public_key, WZP_PUBLIC_KEY_LEN) == 0);
  relay_envelope_free (back);
  g_free (json);
}

static void
check_node (RelayNode * n)
{
  char *json = relay_node_to_json (n);
  RelayNode *back = relay_node_from_json (json, strlen (json), NULL);

  FUZZ_CHECK (back != NULL);
  FUZZ_CHECK (g_str_equal (back->id, n->id));
  FUZZ_CHECK (g_str_equal (back->addr, n->addr));
  FUZZ_CHECK (g_strcmp0 (back->probe, n->probe) == 0);
  FUZZ_CHECK (g_str_equal (back->fingerprint, n->fingerprint));
  FUZZ_CHECK (back->registrations == n->registrations &&
      back->calls == n->calls && back->rooms == n->rooms &&
      back->connections == n->connections && back->draining == n->draining);
  relay_node_free (back);
  g_free (json);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *error = NULL;

  if (size < 1)
    return 0;
  if (data[0] % 2 == 0) {
    RelayEnvelope *env = relay_envelope_parse ((const char *) data + 1,
        size - 1, &error);

    FUZZ_CHECK ((env == NULL) == (error != NULL));
    if (env) {
      FUZZ_CHECK (relay_node_id_is_valid (env->from));
      check_envelope (env);
    }
    relay_envelope_free (env);
  } else {
    RelayNode *n = relay_node_from_json ((const char *) data + 1, size - 1,
        &error);

    FUZZ_CHECK ((n == NULL) == (error != NULL));
    if (n)
      check_node (n);
    relay_node_free (n);
  }
  g_clear_error (&error);
  return 0;
}
