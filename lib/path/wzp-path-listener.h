/* wzp — who may open a direct connection to an endpoint, and what is
 * kept until a path manager takes it
 *
 * A call's endpoint accepts QUIC connections (the peer's direct dial)
 * from the moment the call exists, well before its path manager runs:
 * the peer may get its call-setup a few milliseconds earlier, dial at
 * once, and complete the handshake on a LAN before our own setup arrives.
 * A WzpPathListener answers the endpoint's "accept-peer" for the whole
 * call: only the expected peer gets in (nobody while none is expected),
 * and its connections are held, together with the first messages they
 * carry (the dialer's path-ok), until a path manager takes them.
 *
 * Runs on the endpoint's context; one listener per endpoint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-endpoint.h"

G_BEGIN_DECLS

/* Messages kept per held connection before a path manager takes it (the
 * dialer sends one path-ok per agreement), and their largest size. */
#define WZP_PATH_LISTENER_MAX_MESSAGES 8
#define WZP_PATH_LISTENER_MAX_MESSAGE_SIZE 2048
/* Connections held at once; a peer dials at most one per candidate. */
#define WZP_PATH_LISTENER_MAX_HELD 16

#define WZP_TYPE_PATH_LISTENER (wzp_path_listener_get_type ())
G_DECLARE_FINAL_TYPE (WzpPathListener, wzp_path_listener, WZP,
    PATH_LISTENER, GObject)

WzpPathListener *wzp_path_listener_new (WzpEndpoint * endpoint);

void wzp_path_listener_set_peer (WzpPathListener * self,
    const char *fingerprint);

const char *wzp_path_listener_get_peer (WzpPathListener * self);

GPtrArray *wzp_path_listener_get_held (WzpPathListener * self);

gboolean wzp_path_listener_take (WzpPathListener * self,
    WzpConnection * conn, GPtrArray ** messages);

guint64 wzp_path_listener_get_refused (WzpPathListener * self);

/* Signal "connection" (WzpConnection *conn): a connection from the
 * expected peer completed its handshake and is held; take it with
 * wzp_path_listener_take().
 * Signal "message" (WzpConnection *conn, GBytes *message): a held
 * connection carried a message (kept for whoever takes it). */

G_END_DECLS
