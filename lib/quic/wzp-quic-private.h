/* wzp — what the endpoint and its connections tell each other (internal)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ngtcp2/ngtcp2.h>

#include "wzp-endpoint.h"
#include "wzp-source.h"
#include "wzp-tls.h"

G_BEGIN_DECLS

/* Our connection IDs: long enough to be unguessable, fixed so short-header
 * packets can be parsed without knowing the connection. */
#define WZP_SCID_LEN 16
/* Biggest UDP payload we ever build or accept.  Paths on this planet carry
 * at least 1280-byte IPv6 packets; QUIC starts at 1200 and PMTUD may go to
 * 1452. */
#define WZP_MAX_UDP_PAYLOAD 1452
#define WZP_RX_BUFFER 2048

/* --- endpoint services used by connections ---------------------------- */

GMainContext *_wzp_endpoint_context (WzpEndpoint * ep);
WzpTlsContext *_wzp_endpoint_tls (WzpEndpoint * ep);
gsize _wzp_endpoint_max_message_size (WzpEndpoint * ep);
guint _wzp_endpoint_ack_threshold (WzpEndpoint * ep);
guint64 _wzp_endpoint_ack_hold (WzpEndpoint * ep);
/* The stateless reset token we promise for @cid (see
 * wzp-stateless-reset.h). */
void _wzp_endpoint_reset_token (WzpEndpoint * ep, const guint8 * cid,
    gsize cid_len, guint8 token[16]);

/* Where to build the next outgoing UDP payload (WZP_MAX_UDP_PAYLOAD bytes
 * available), then commit it.  Packets are sent in batches. */
guint8 *_wzp_endpoint_tx_slot (WzpEndpoint * ep);
void _wzp_endpoint_tx_commit (WzpEndpoint * ep, const WzpAddr * to,
    gsize len);

void _wzp_endpoint_register_cid (WzpEndpoint * ep, const ngtcp2_cid * cid,
    WzpConnection * conn);
void _wzp_endpoint_unregister_cid (WzpEndpoint * ep, const ngtcp2_cid * cid);

/* The connection has something to write: flush it soon. */
void _wzp_endpoint_mark_dirty (WzpEndpoint * ep, WzpConnection * conn);
/* The connection's next deadline changed. */
void _wzp_endpoint_update_timer (WzpEndpoint * ep, WzpConnection * conn);
/* The connection is finished (closing/draining period over): forget it. */
void _wzp_endpoint_connection_finished (WzpEndpoint * ep,
    WzpConnection * conn);
/* Asks the "accept-peer" signal whether a peer may connect. */
gboolean _wzp_endpoint_accept_peer (WzpEndpoint * ep, const char *fingerprint,
    const WzpAddr * remote);
/* A server-side connection finished its handshake. */
void _wzp_endpoint_incoming_connected (WzpEndpoint * ep,
    WzpConnection * conn);

/* --- connection entry points used by the endpoint -------------------- */

WzpConnection *_wzp_connection_new_client (WzpEndpoint * ep,
    const WzpAddr * local, const WzpAddr * remote,
    const WzpConnectParams * params, GError ** error);
/* @odcid: the DCID of the client's first Initial when its address was
 * validated with a Retry token (then @hd carries the token), else NULL. */
WzpConnection *_wzp_connection_new_server (WzpEndpoint * ep,
    const WzpAddr * local, const WzpAddr * remote, const ngtcp2_pkt_hd * hd,
    const ngtcp2_cid * odcid, const WzpConnectParams * params,
    GError ** error);

/* Feed one received packet.  Returns FALSE when a new server connection
 * must be discarded (the packet did not start a valid handshake). */
gboolean _wzp_connection_read_packet (WzpConnection * conn,
    const WzpAddr * local, const WzpAddr * remote, const guint8 * data,
    gsize len);
void _wzp_connection_handle_timer (WzpConnection * conn);
void _wzp_connection_flush (WzpConnection * conn);
guint64 _wzp_connection_get_deadline (WzpConnection * conn);
void _wzp_connection_detach (WzpConnection * conn);
gboolean _wzp_connection_remote_equal (WzpConnection * conn,
    const WzpAddr * addr);
/* The endpoint's TLS context calls this during handshakes: it applies the
 * connection's policy (pinned fingerprint, accept filter). */
WzpTlsVerifyFunc _wzp_connection_verify_func (void);

/* Bookkeeping fields the endpoint owns inside each connection. */
typedef struct
{
  guint timer_index;            /* 1-based slot in the endpoint's timer
                                 * heap; 0 = not queued */
  guint64 timer_deadline;
  gboolean dirty;
  gboolean finished;
  GPtrArray *cid_keys;          /* the routing keys that point at us */
  /* Accepted connections: counted per source until finished, and as
   * half-open until the handshake completes (wzp-endpoint-admit.c). */
  gboolean admitted;
  gboolean half_open;
  WzpSource source;
} WzpConnectionEndpointData;

WzpConnectionEndpointData *_wzp_connection_endpoint_data (WzpConnection *
    conn);

G_END_DECLS
