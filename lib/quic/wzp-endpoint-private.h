/* wzp — a QUIC endpoint: what its files share (internal)
 *
 * WzpEndpoint is split over wzp-endpoint.c (the object, services for
 * connections, binding, dialing, public API), wzp-endpoint-send.c
 * (send batching, the dirty set, the timer heap, connection lifetime) and
 * wzp-endpoint-recv.c (connection-ID routing, the receive path, accept,
 * version negotiation) and wzp-endpoint-admit.c (which new connections
 * get state: Retry, half-open and per-source limits).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ngtcp2/ngtcp2.h>

#include "wzp-endpoint.h"
#include "wzp-log-private.h"
#include "wzp-quic-private.h"
#include "wzp-source.h"
#include "wzp-stateless-reset.h"

G_BEGIN_DECLS

/* Packets read per recvmmsg, and the most we read before giving the main
 * loop back to other sources. */
#define RX_BATCH 32
#define RX_BUDGET 512
#define TX_BATCH 64

typedef struct
{
  guint8 len;
  guint8 data[NGTCP2_MAX_CIDLEN];
} CidKey;

typedef struct
{
  GSocket *socket;
  int fd;
  WzpAddr local;
  GSource *source;
} Sock;

/* wzp_endpoint_add_source_handler() */
typedef struct
{
  guint id;
  WzpAddr source;
  WzpSourcePacketFunc func;
  gpointer data;
  GDestroyNotify notify;
} SourceHandler;

typedef struct
{
  WzpAddr to;
  gsize len;
  guint8 data[WZP_MAX_UDP_PAYLOAD];
} TxSlot;

struct _WzpEndpoint
{
  GObject parent;

  GMainContext *context;
  WzpIdentity *identity;
  WzpClock *clock;
  WzpTlsContext *tls;

  Sock socks[2];                /* [0] IPv4, [1] IPv6 */

  GHashTable *cids;             /* CidKey* -> WzpConnection* (no ref) */
  GHashTable *conns;            /* WzpConnection* -> same (owns a ref) */
  GPtrArray *timers;            /* WzpConnection*, binary min-heap by
                                 * deadline; each knows its slot */
  GSource *timer_source;
  GSource *flush_source;
  GPtrArray *dirty;
  gboolean processing;

  TxSlot *tx;
  guint n_tx;

  guint8 *rx_buffers;

  GArray *source_handlers;      /* SourceHandler */
  guint next_source_handler;

  WzpRawPacketFunc raw_func;
  gpointer raw_data;
  GDestroyNotify raw_notify;

  gboolean accept_incoming;
  guint64 idle_timeout;
  guint64 keep_alive;
  guint64 handshake_timeout;
  guint64 initial_rtt;
  guint max_message_size;
  guint max_connections;
  guint ack_threshold;
  guint64 ack_hold;

  /* Admission of new connections (wzp-endpoint-admit.c). */
  WzpRetryMode retry_mode;
  guint retry_threshold;
  guint retry_threshold_per_source;
  guint max_half_open;
  guint max_half_open_per_source;
  guint max_connections_per_source;
  guint8 token_secret[32];      /* random per endpoint: tokens die with it */
  WzpSourceCounter *half_open_by_source;
  WzpSourceCounter *conns_by_source;
  WzpLogLimit refuse_logs[4];   /* per kind of refusal */
  WzpLogLimit token_log;
  /* Stateless resets (wzp-stateless-reset.h): the key our tokens come
   * from, the connections we dialed (a reset for one of them cannot be
   * routed by connection ID), and a budget so a flood of unknown packets
   * cannot make us a reflector. */
  guint8 reset_key[WZP_RESET_KEY_LEN];
  GPtrArray *dialed;
  guint64 reset_window_start;
  guint resets_in_window;

  WzpEndpointStats stats;
};

enum
{
  SIGNAL_ACCEPT_PEER,
  SIGNAL_INCOMING_CONNECTION,
  N_SIGNALS
};

/* wzp-endpoint-send.c */
Sock *_wzp_endpoint_sock_for (WzpEndpoint * self, int family);
void _wzp_endpoint_tx_flush (WzpEndpoint * self);
void _wzp_endpoint_add_connection (WzpEndpoint * self, WzpConnection * conn);
void _wzp_endpoint_flush_all (WzpEndpoint * self);
gboolean _wzp_endpoint_flush_source_dispatch (gpointer user_data);
gboolean _wzp_endpoint_on_timer (gpointer user_data);

/* wzp-endpoint-admit.c */
gboolean _wzp_endpoint_admit (WzpEndpoint * self, const WzpAddr * from,
    const ngtcp2_pkt_hd * hd, ngtcp2_cid * odcid, gboolean * validated);
void _wzp_endpoint_admitted (WzpEndpoint * self, WzpConnection * conn,
    const WzpAddr * from);
void _wzp_endpoint_handshake_done (WzpEndpoint * self, WzpConnection * conn);
void _wzp_endpoint_release_admission (WzpEndpoint * self,
    WzpConnection * conn);

/* wzp-endpoint-recv.c */
guint _wzp_endpoint_cid_hash (gconstpointer key);
gboolean _wzp_endpoint_cid_equal (gconstpointer a, gconstpointer b);
void _wzp_endpoint_fill_default_params (WzpEndpoint * self,
    WzpConnectParams * p, const WzpConnectParams * given);
gboolean _wzp_endpoint_on_readable (gint fd, GIOCondition condition,
    gpointer user_data);

G_END_DECLS
