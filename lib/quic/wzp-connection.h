/* wzp — one QUIC connection (ngtcp2) on a WzpEndpoint
 *
 * A connection carries two things: reliable framed messages (signaling)
 * on one QUIC stream per direction, and unreliable RFC 9221 datagrams
 * (media).  It lives on its endpoint's GMainContext and must only be used
 * from the thread that runs that context; signals are emitted from it,
 * never from inside ngtcp2, so handlers may call any function here.
 *
 * A connection stays open until either side closes it or the idle timeout
 * ends it, even when the caller drops its reference: the endpoint keeps
 * one until the connection is gone.  Call wzp_connection_close() to end it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"

G_BEGIN_DECLS

typedef struct _WzpEndpoint WzpEndpoint;

/**
 * WzpConnectionState:
 * @WZP_CONNECTION_STATE_HANDSHAKING: QUIC/TLS handshake in progress
 * @WZP_CONNECTION_STATE_CONNECTED: handshake done and the peer verified
 * @WZP_CONNECTION_STATE_CLOSED: closed; see wzp_connection_get_close_error()
 */
typedef enum
{
  WZP_CONNECTION_STATE_HANDSHAKING,
  WZP_CONNECTION_STATE_CONNECTED,
  WZP_CONNECTION_STATE_CLOSED,
} WzpConnectionState;

/**
 * WzpConnectionError:
 * @WZP_CONNECTION_ERROR_CLOSED: we closed it (the message is our reason)
 * @WZP_CONNECTION_ERROR_PEER_CLOSED: the peer closed it with an application
 *   error code and reason (see wzp_connection_get_peer_close_code())
 * @WZP_CONNECTION_ERROR_IDLE_TIMEOUT: nothing heard from the peer for the
 *   idle timeout
 * @WZP_CONNECTION_ERROR_HANDSHAKE_TIMEOUT: no handshake within the limit
 *   (peer unreachable, or packets filtered)
 * @WZP_CONNECTION_ERROR_PEER_REJECTED: we refused the peer: its key is not
 *   the expected fingerprint, or the accept filter said no
 * @WZP_CONNECTION_ERROR_REJECTED_BY_PEER: the peer refused us (TLS alert:
 *   our certificate, or no common ALPN)
 * @WZP_CONNECTION_ERROR_PROTOCOL: a QUIC or TLS protocol error
 * @WZP_CONNECTION_ERROR_NOT_CONNECTED: operation needs a connected
 *   connection
 * @WZP_CONNECTION_ERROR_TOO_LARGE: message larger than the peer accepts
 * @WZP_CONNECTION_ERROR_RESET: the peer answered with a Stateless Reset:
 *   it lost the connection's state (e.g. it was restarted)
 */
typedef enum
{
  WZP_CONNECTION_ERROR_CLOSED,
  WZP_CONNECTION_ERROR_PEER_CLOSED,
  WZP_CONNECTION_ERROR_IDLE_TIMEOUT,
  WZP_CONNECTION_ERROR_HANDSHAKE_TIMEOUT,
  WZP_CONNECTION_ERROR_PEER_REJECTED,
  WZP_CONNECTION_ERROR_REJECTED_BY_PEER,
  WZP_CONNECTION_ERROR_PROTOCOL,
  WZP_CONNECTION_ERROR_NOT_CONNECTED,
  WZP_CONNECTION_ERROR_TOO_LARGE,
  WZP_CONNECTION_ERROR_RESET,
} WzpConnectionError;

#define WZP_CONNECTION_ERROR (wzp_connection_error_quark ())
GQuark wzp_connection_error_quark (void);

/**
 * WzpConnectionStats:
 *
 * A snapshot of one connection.  RTT figures are 0 until the first sample.
 * @datagrams_lost counts DATAGRAM frames QUIC declared lost;
 * @datagrams_acked counts those the peer acknowledged;
 * @datagrams_dropped counts datagrams we never sent (too large, queue full
 * while congestion-limited, not connected).
 */
typedef struct
{
  guint64 rtt_ns;               /* smoothed RTT */
  guint64 min_rtt_ns;
  guint64 latest_rtt_ns;
  guint64 rtt_var_ns;
  guint64 cwnd;
  guint64 bytes_in_flight;
  guint64 packets_sent;         /* UDP datagrams */
  guint64 packets_received;
  guint64 bytes_sent;           /* UDP payload bytes */
  guint64 bytes_received;
  guint64 datagrams_sent;
  guint64 datagrams_received;
  guint64 datagrams_lost;
  guint64 datagrams_dropped;
  guint64 messages_sent;
  guint64 messages_received;
  guint64 pto_count;
  guint64 datagrams_acked;
} WzpConnectionStats;

#define WZP_TYPE_CONNECTION (wzp_connection_get_type ())
G_DECLARE_FINAL_TYPE (WzpConnection, wzp_connection, WZP, CONNECTION,
    GObject)

/**
 * WzpDatagramFunc:
 * @data: valid only during the call
 *
 * Datagrams go to a plain callback, not a signal: a relay forwards tens of
 * thousands per second.  It runs inside packet processing: it may send on
 * any connection (sends are queued), but must not close or unref this one
 * synchronously.
 */
typedef void (*WzpDatagramFunc) (WzpConnection * connection,
    const guint8 * data, gsize len, gpointer user_data);

gboolean wzp_connection_send_message (WzpConnection * self,
    const guint8 * data, gsize len, GError ** error);

gboolean wzp_connection_send_datagram (WzpConnection * self,
    const guint8 * data, gsize len);

void wzp_connection_set_datagram_handler (WzpConnection * self,
    WzpDatagramFunc func, gpointer user_data, GDestroyNotify notify);

void wzp_connection_close (WzpConnection * self, guint64 app_error_code,
    const char *reason);

WzpConnectionState wzp_connection_get_state (WzpConnection * self);

gboolean wzp_connection_is_server (WzpConnection * self);

const char *wzp_connection_get_peer_fingerprint (WzpConnection * self);

gboolean wzp_connection_get_peer_public_key (WzpConnection * self,
    guint8 out[32]);

gboolean wzp_connection_export_keying_material (WzpConnection * self,
    const char *label, guint8 * out, gsize len, GError ** error);

GSocketAddress *wzp_connection_get_remote_address (WzpConnection * self);

WzpEndpoint *wzp_connection_get_endpoint (WzpConnection * self);

gsize wzp_connection_get_max_datagram_size (WzpConnection * self);

guint64 wzp_connection_get_last_datagram_ack_time (WzpConnection * self);

guint64 wzp_connection_get_idle_timeout (WzpConnection * self);

/* How long a connection has heard nothing (wzp-connection-silence.c). */
typedef struct
{
  guint64 packets;              /* packets received at the last sample */
  guint64 since;                /* when that count last moved */
} WzpConnectionSilence;

void wzp_connection_silence_reset (WzpConnectionSilence * s, guint64 now);
guint64 wzp_connection_silence_update (WzpConnectionSilence * s,
    WzpConnection * conn, guint64 now);

void wzp_connection_get_stats (WzpConnection * self,
    WzpConnectionStats * stats);

const GError *wzp_connection_get_close_error (WzpConnection * self);

gboolean wzp_connection_get_peer_close_code (WzpConnection * self,
    guint64 * code);

void wzp_connection_set_keep_alive (WzpConnection * self,
    guint64 interval_ns);

const char *wzp_connection_state_to_string (WzpConnectionState state);

G_END_DECLS
