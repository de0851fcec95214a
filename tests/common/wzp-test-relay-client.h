/* A bare relay client for tests of the relay's limits: one QUIC
 * connection, the protocol messages by hand (register, reflect,
 * probe-request, anything else), everything it receives kept.  Unlike
 * WzpSignalClient it does nothing on its own (no automatic register, no
 * reconnect), so a test can be the client a relay must defend against.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include "wzp-endpoint.h"
#include "wzp-message.h"

G_BEGIN_DECLS

typedef struct
{
  WzpConnection *conn;
  WzpIdentity *identity;
  gboolean hello;
  guint8 challenge[WZP_CHALLENGE_LEN];
  gboolean registered;
  GPtrArray *received;          /* JsonObject, every message */
  gboolean closed;
  gboolean have_close_code;
  guint64 close_code;
  char *close_reason;
  gint64 connected_at;          /* g_get_monotonic_time () */
  gint64 closed_at;
  gulong handlers[3];
} WzpTestRelayClient;

/* Dials @relay from @ep, presenting @identity (NULL: a new one) on this
 * connection only (many identities can share one endpoint and source). */
WzpTestRelayClient *wzp_test_relay_client_new (WzpEndpoint * ep,
    GSocketAddress * relay, WzpIdentity * identity);
void wzp_test_relay_client_free (WzpTestRelayClient * c);

/* Consumes @msg. */
void wzp_test_relay_client_send (WzpTestRelayClient * c, JsonObject * msg);
/* Signs the hello's challenge: call once c->hello is TRUE. */
void wzp_test_relay_client_register (WzpTestRelayClient * c);
/* Received messages of @type ("error": with @code, or any if NULL). */
guint wzp_test_relay_client_count (WzpTestRelayClient * c, const char *type,
    const char *code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpTestRelayClient, wzp_test_relay_client_free)

G_END_DECLS
