/* wzp — one QUIC connection: what its files share (internal)
 *
 * WzpConnection is split over wzp-connection.c (the object, events, public
 * API), wzp-connection-ngtcp2.c (ngtcp2 callbacks, peer verification,
 * construction), wzp-connection-io.c (packets in and out, timers, the
 * endpoint's entry points) and wzp-connection-close.c (closing, draining,
 * error mapping).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ngtcp2/ngtcp2.h>

#include "wzp-connection.h"
#include "wzp-framer.h"
#include "wzp-log-private.h"
#include "wzp-quic-private.h"
#include "wzp-send-buffer.h"

G_BEGIN_DECLS

/* Received datagrams held until a handler is set. */
#define EARLY_DATAGRAMS 64

typedef enum
{
  EVENT_CONNECTED,
  EVENT_MESSAGE,
  EVENT_MESSAGE_TOO_LARGE,
  EVENT_CLOSED,
} EventType;

typedef struct
{
  EventType type;
  GBytes *bytes;
  guint64 size;
} Event;

typedef struct
{
  gsize len;
  guint8 data[];
} QueuedDatagram;

struct _WzpConnection
{
  GObject parent;

  WzpConnectionEndpointData epdata;
  WzpEndpoint *endpoint;        /* not a ref: the endpoint owns us */
  WzpClock *clock;
  ngtcp2_conn *conn;
  WzpTlsSession *tls;
  WzpTlsContext *own_tls;       /* with WzpConnectParams.identity */
  gboolean is_server;
  gboolean got_valid_packet;
  gboolean pacing;              /* handshake done, packets paced */
  WzpConnectionState state;
  WzpAddr local;
  WzpAddr remote;

  char *expected_fingerprint;
  char *peer_fingerprint;
  guint8 peer_public_key[32];
  gboolean have_peer_key;
  GError *verify_error;
  GError *close_error;
  gboolean have_peer_close_code;
  guint64 peer_close_code;
  gboolean got_stateless_reset;

  /* Outgoing messages, framed, until acknowledged: ngtcp2 retransmits
   * from the memory it was given (see wzp-send-buffer.h). */
  gint64 tx_stream;
  WzpSendBuffer tx;
  gboolean tx_blocked;

  /* Incoming messages: the peer's one message stream. */
  gint64 rx_stream;
  WzpFramer *framer;

  GQueue datagrams;
  guint64 next_datagram_id;
  guint64 last_datagram_ack;    /* when the peer last ACKed a datagram */
  WzpDatagramFunc datagram_func;
  /* Datagrams that arrive before anyone set a handler: a client's first
   * datagrams share a packet with its Finished, before the server side
   * has even announced the connection.  Bounded; see EARLY_DATAGRAMS. */
  GQueue early_datagrams;
  gpointer datagram_data;
  GDestroyNotify datagram_notify;

  GQueue events;
  guint in_ngtcp2;
  gboolean close_requested;
  guint64 close_code;
  char *close_reason;

  /* Closing (we sent CONNECTION_CLOSE) or draining (peer did): the
   * connection stays routed until close_until to absorb stragglers. */
  guint8 *close_packet;
  gsize close_packet_len;
  guint close_budget;
  guint64 close_until;

  guint64 keep_alive_ns;
  guint64 ack_hold_ns;          /* WzpEndpoint:ack-hold */
  guint64 last_datagram_tx;     /* when write_packets last sent one */
  WzpLogLimit oversize_log;     /* the peer's oversize messages */
  WzpConnectionStats stats;
};

/* wzp-connection.c */
guint64 _wzp_connection_now (WzpConnection * self);
void _wzp_connection_queue_event (WzpConnection * self, EventType type,
    GBytes * bytes, guint64 size);
void _wzp_connection_set_state (WzpConnection * self, WzpConnectionState state);
void _wzp_connection_dispatch_events (WzpConnection * self);

/* wzp-connection-io.c */
void _wzp_connection_drop_front_datagram (WzpConnection * self);
void _wzp_connection_after_ngtcp2 (WzpConnection * self);

/* wzp-connection-close.c */
void _wzp_connection_record_close (WzpConnection * self, GError * reason);
void _wzp_connection_close_internal (WzpConnection * self,
    ngtcp2_connection_close_error * ccerr, GError * reason);
void _wzp_connection_handle_ngtcp2_error (WzpConnection * self, int rv);

G_END_DECLS
