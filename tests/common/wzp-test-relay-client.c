/* A bare relay client for tests of the relay's limits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-test-relay-client.h"

#include <string.h>

static void
on_message (WzpConnection * conn, GBytes * bytes, gpointer user_data)
{
  WzpTestRelayClient *c = user_data;
  WzpMessageType type;
  JsonObject *msg = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &type, NULL);

  if (msg == NULL)
    return;
  if (type == WZP_MSG_HELLO) {
    g_autoptr (GBytes) ch = NULL;
    if (wzp_message_get_bytes (msg, "challenge", TRUE, WZP_CHALLENGE_LEN,
            WZP_CHALLENGE_LEN, &ch, NULL)) {
      memcpy (c->challenge, g_bytes_get_data (ch, NULL), WZP_CHALLENGE_LEN);
      c->hello = TRUE;
    }
  } else if (type == WZP_MSG_REGISTERED) {
    c->registered = TRUE;
  }
  g_ptr_array_add (c->received, msg);
}

static void
on_connected (WzpConnection * conn, gpointer user_data)
{
  WzpTestRelayClient *c = user_data;

  c->connected_at = g_get_monotonic_time ();
}

static void
on_closed (WzpConnection * conn, const GError * error, gpointer user_data)
{
  WzpTestRelayClient *c = user_data;

  c->closed = TRUE;
  c->closed_at = g_get_monotonic_time ();
  c->have_close_code = wzp_connection_get_peer_close_code (conn,
      &c->close_code);
  g_free (c->close_reason);
  c->close_reason = g_strdup (error ? error->message : "");
}

WzpTestRelayClient *
wzp_test_relay_client_new (WzpEndpoint * ep, GSocketAddress * relay,
    WzpIdentity * identity)
{
  WzpTestRelayClient *c = g_new0 (WzpTestRelayClient, 1);
  WzpConnectParams params;
  g_autoptr (GError) error = NULL;

  c->identity = identity ? g_object_ref (identity) : wzp_identity_generate ();
  c->received = g_ptr_array_new_with_free_func ((GDestroyNotify)
      json_object_unref);
  wzp_connect_params_init (&params);
  params.identity = c->identity;
  c->conn = wzp_endpoint_connect_full (ep, relay, &params, &error);
  g_assert_no_error (error);
  c->handlers[0] = g_signal_connect (c->conn, "message",
      G_CALLBACK (on_message), c);
  c->handlers[1] = g_signal_connect (c->conn, "connected",
      G_CALLBACK (on_connected), c);
  c->handlers[2] = g_signal_connect (c->conn, "closed",
      G_CALLBACK (on_closed), c);
  return c;
}

void
wzp_test_relay_client_free (WzpTestRelayClient * c)
{
  if (c == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (c->handlers); i++)
    g_signal_handler_disconnect (c->conn, c->handlers[i]);
  wzp_connection_close (c->conn, 0, "test done");
  g_object_unref (c->conn);
  g_object_unref (c->identity);
  g_ptr_array_unref (c->received);
  g_free (c->close_reason);
  g_free (c);
}

void
wzp_test_relay_client_send (WzpTestRelayClient * c, JsonObject * msg)
{
  g_autoptr (GBytes) b = wzp_message_to_bytes (msg);

  wzp_connection_send_message (c->conn, g_bytes_get_data (b, NULL),
      g_bytes_get_size (b), NULL);
  json_object_unref (msg);
}

void
wzp_test_relay_client_register (WzpTestRelayClient * c)
{
  g_assert_true (c->hello);
  wzp_test_relay_client_send (c, wzp_message_new_register (c->identity,
          c->challenge));
}

guint
wzp_test_relay_client_count (WzpTestRelayClient * c, const char *type,
    const char *code)
{
  guint n = 0;

  for (guint i = 0; i < c->received->len; i++) {
    JsonObject *m = g_ptr_array_index (c->received, i);
    const char *t = json_object_get_string_member_with_default (m, "type",
        "");
    if (g_strcmp0 (t, type) != 0)
      continue;
    if (code && g_strcmp0 (json_object_get_string_member_with_default (m,
                "code", ""), code) != 0)
      continue;
    n++;
  }
  return n;
}
