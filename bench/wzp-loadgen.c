/* wzp-loadgen — relay capacity load generator
 *
 *   wzp-loadgen --relay 127.0.0.1:4433 --fingerprint FP --calls N
 *               [--warmup S] [--duration S] [--payload BYTES] [--rate PPS]
 *               [--wait-go] [--id-offset K]
 *   wzp-loadgen --udp --relay 127.0.0.1:5000 --calls N ...
 *
 * Opens N client pairs.  In QUIC mode each client is a real libwzp client:
 * its own WzpEndpoint (socket), a fresh identity and a WzpSignalClient that
 * registers with the relay; the first of each pair calls the second, which
 * answers (minimal JSON objects: this bypasses WzpCall), and both learn the
 * relay channel from call-setup.  In --udp mode each client is a plain UDP
 * socket that says "HELLO <pair>" to bench/udp-forwarder.
 *
 * Then every client sends @payload-byte media datagrams (default 110: an
 * 80-byte Opus frame plus 30 bytes of sealing overhead) at @rate packets/s
 * (default 50, one per 20 ms) to its peer through the relay.  Each payload
 * carries the pair id, a sequence number, a "measured" flag and the
 * CLOCK_MONOTONIC send time; sender and receiver are in this process, so
 * receive time - send time is the latency the relay (and both kernels'
 * loopback paths) added.  Sends are spread evenly over the 20 ms period.
 *
 * Phases: setup, READY (with --wait-go: wait for a line on stdin), warmup
 * (sending, not counted), measurement, a 1 s drain (receiving only), then
 * one JSON line with the counters and a latency histogram (10 us buckets)
 * so a driver can merge several processes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "wzp-signal-client.h"
#include "wzp-identity.h"
#include "wzp-log-private.h"

#define MAGIC 0x775a5042u       /* "wZPB" */
#define HIST_BUCKET_NS 10000    /* 10 us */
#define HIST_BUCKETS 20000      /* up to 200 ms; beyond goes to the last */
#define SLOT_NS 1000000         /* send slots: 1 ms */
#define SETUP_CONCURRENCY 64

typedef struct
{
  guint32 magic;
  guint32 pair;
  guint32 seq;
  guint32 flags;
  guint64 send_ns;
} __attribute__((packed)) Stamp;

#define FLAG_MEASURED 1u

typedef struct _Pair Pair;

typedef struct
{
  Pair *pair;
  gboolean caller;
  /* QUIC */
  WzpIdentity *id;
  WzpEndpoint *ep;
  WzpSignalClient *sc;
  gboolean registered;
  /* UDP */
  int fd;
  gboolean hello_ok;

  guint32 channel;
  gboolean ready;
  guint32 seq;
} Client;

struct _Pair
{
  guint32 id;
  Client c[2];
  char *call_id;
};

typedef enum
{
  PHASE_SETUP,
  PHASE_READY,
  PHASE_WARMUP,
  PHASE_MEASURE,
  PHASE_DRAIN,
  PHASE_DONE,
} Phase;

static struct
{
  /* options */
  char *relay;
  char *fingerprint;
  gboolean udp;
  gint calls;
  gdouble warmup;
  gdouble duration;
  gint payload;
  gint rate;
  gboolean wait_go;
  gint id_offset;
  gdouble setup_timeout;
  gint per_endpoint;
  gint ack_hold_ms;
  gint ack_threshold;

  GMainLoop *loop;
  WzpEndpoint **endpoints;      /* QUIC: shared by per_endpoint clients */
  GSocketAddress *relay_addr;
  struct sockaddr_in relay_sin;
  Pair *pairs;
  guint n_clients;
  guint started;
  guint registered;
  guint ready;
  guint errors;
  guint calls_ended;
  Phase phase;

  guint64 period_ns;
  guint n_slots;
  guint64 t0;                   /* send schedule origin */
  guint64 next_slot;            /* index of the next slot to send */
  guint64 warmup_end;
  guint64 measure_end;
  guint64 drain_end;

  guint64 sent_measured;
  guint64 sent_total;
  guint64 send_refused;
  guint64 recv_measured;
  guint64 recv_total;
  guint64 recv_bad;
  guint64 recv_late;            /* measured packets that arrived in drain */
  guint64 *hist;
  guint64 lat_max;
  struct rusage ru_start;
  guint64 measure_start_ns;
  guint64 measure_stop_ns;
} g;

static guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* A macro, so the format is checked where it is written. */
#define die(...) G_STMT_START {                                         \
    fprintf (stderr, "wzp-loadgen: ");                                  \
    fprintf (stderr, __VA_ARGS__);                                      \
    fprintf (stderr, "\n");                                             \
    exit (1);                                                           \
  } G_STMT_END

/* --- receiving (both modes) ------------------------------------------- */

static void
on_payload (Client * c, const guint8 * data, gsize len)
{
  Stamp st;
  guint64 t = now_ns ();
  guint64 lat;

  if (len < sizeof st) {
    g.recv_bad++;
    return;
  }
  memcpy (&st, data, sizeof st);
  if (st.magic != MAGIC || st.pair != c->pair->id) {
    g.recv_bad++;
    return;
  }
  g.recv_total++;
  if (!(st.flags & FLAG_MEASURED))
    return;
  g.recv_measured++;
  if (g.phase == PHASE_DRAIN)
    g.recv_late++;
  lat = t > st.send_ns ? t - st.send_ns : 0;
  if (lat > g.lat_max)
    g.lat_max = lat;
  g.hist[MIN (lat / HIST_BUCKET_NS, HIST_BUCKETS - 1)]++;
}

static void
on_media (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  on_payload (user_data, data, len);
}

static gboolean
on_udp_readable (gint fd, GIOCondition cond, gpointer user_data)
{
  Client *c = user_data;
  guint8 buf[2048];

  for (;;) {
    ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0)
      break;
    if (n >= 3 && memcmp (buf, "OK ", 3) == 0) {
      if (!c->hello_ok) {
        c->hello_ok = TRUE;
        c->ready = TRUE;
        g.registered++;
        g.ready++;
      }
      continue;
    }
    if (n >= 5 && buf[0] == 0x10)
      on_payload (c, buf + 5, n - 5);
    else
      g.recv_bad++;
  }
  return G_SOURCE_CONTINUE;
}

/* --- sending ---------------------------------------------------------- */

static void
send_one (Client * c, gboolean measured)
{
  guint8 buf[2048];
  Stamp st;
  gsize len = g.payload;
  gboolean ok;

  if (!c->ready)
    return;
  st.magic = MAGIC;
  st.pair = c->pair->id;
  st.seq = c->seq++;
  st.flags = measured ? FLAG_MEASURED : 0;
  st.send_ns = now_ns ();
  memset (buf, 0xa5, sizeof buf);
  if (g.udp) {
    guint32 be = GUINT32_TO_BE (c->pair->id);
    buf[0] = 0x10;
    memcpy (buf + 1, &be, 4);
    memcpy (buf + 5, &st, sizeof st);
    ok = send (c->fd, buf, len + 5, MSG_DONTWAIT) == (ssize_t) (len + 5);
  } else {
    memcpy (buf, &st, sizeof st);
    ok = wzp_signal_client_send_media (c->sc, c->channel, buf, len);
  }
  g.sent_total++;
  if (!ok)
    g.send_refused++;
  if (measured)
    g.sent_measured++;
}

static void
print_results (void)
{
  struct rusage ru;
  double cpu, wall;
  GString *s = g_string_new (NULL);
  gboolean first = TRUE;

  guint64 dg_dropped = 0, dg_lost = 0, pto = 0, cwnd_min = G_MAXUINT64;
  guint64 rtt_max = 0, pkt_rx = 0, dg_rx = 0, pkt_tx = 0, dg_tx = 0;

  for (guint k = 0; !g.udp && k < g.n_clients; k++) {
    Client *c = &g.pairs[k / 2].c[k % 2];
    WzpConnection *conn = wzp_signal_client_get_connection (c->sc);
    WzpConnectionStats cs;
    if (conn == NULL)
      continue;
    wzp_connection_get_stats (conn, &cs);
    dg_dropped += cs.datagrams_dropped;
    dg_lost += cs.datagrams_lost;
    pto += cs.pto_count;
    cwnd_min = MIN (cwnd_min, cs.cwnd);
    rtt_max = MAX (rtt_max, cs.rtt_ns);
    pkt_rx += cs.packets_received;
    dg_rx += cs.datagrams_received;
    pkt_tx += cs.packets_sent;
    dg_tx += cs.datagrams_sent;
  }
  if (!g.udp)
    g_printerr ("wzp-loadgen: clients received %" G_GUINT64_FORMAT
        " packets for %" G_GUINT64_FORMAT " datagrams (%.2f), sent %"
        G_GUINT64_FORMAT " packets for %" G_GUINT64_FORMAT
        " datagrams (%.2f)\n", pkt_rx, dg_rx,
        dg_rx ? (double) pkt_rx / dg_rx : 0.0, pkt_tx, dg_tx,
        dg_tx ? (double) pkt_tx / dg_tx : 0.0);
  g_printerr ("wzp-loadgen: client QUIC stats: datagrams dropped %"
      G_GUINT64_FORMAT " lost %" G_GUINT64_FORMAT ", pto %" G_GUINT64_FORMAT
      ", min cwnd %" G_GUINT64_FORMAT ", max srtt %" G_GUINT64_FORMAT " us\n",
      dg_dropped, dg_lost, pto, cwnd_min, rtt_max / 1000);
  getrusage (RUSAGE_SELF, &ru);
  cpu = (ru.ru_utime.tv_sec - g.ru_start.ru_utime.tv_sec) +
      (ru.ru_stime.tv_sec - g.ru_start.ru_stime.tv_sec) +
      ((ru.ru_utime.tv_usec - g.ru_start.ru_utime.tv_usec) +
      (ru.ru_stime.tv_usec - g.ru_start.ru_stime.tv_usec)) / 1e6;
  wall = (g.measure_stop_ns - g.measure_start_ns) / 1e9;
  g_string_append_printf (s, "{\"calls\": %d, \"ready\": %u, "
      "\"duration\": %.3f, \"sent\": %" G_GUINT64_FORMAT ", \"received\": %"
      G_GUINT64_FORMAT ", \"received_late\": %" G_GUINT64_FORMAT
      ", \"sent_total\": %" G_GUINT64_FORMAT ", \"received_total\": %"
      G_GUINT64_FORMAT ", \"send_refused\": %" G_GUINT64_FORMAT
      ", \"bad\": %" G_GUINT64_FORMAT ", \"errors\": %u, \"calls_ended\": %u"
      ", \"loadgen_cpu\": %.3f, \"lat_max_ns\": %" G_GUINT64_FORMAT
      ", \"hist_bucket_ns\": %d, \"hist\": [",
      g.calls, g.ready, wall, g.sent_measured, g.recv_measured, g.recv_late,
      g.sent_total, g.recv_total, g.send_refused, g.recv_bad, g.errors,
      g.calls_ended, wall > 0 ? cpu / wall : 0, g.lat_max, HIST_BUCKET_NS);
  for (guint i = 0; i < HIST_BUCKETS; i++) {
    if (g.hist[i] == 0)
      continue;
    g_string_append_printf (s, "%s[%u, %" G_GUINT64_FORMAT "]",
        first ? "" : ", ", i, g.hist[i]);
    first = FALSE;
  }
  g_string_append (s, "]}");
  printf ("RESULT %s\n", s->str);
  fflush (stdout);
  g_string_free (s, TRUE);
}

/* The send schedule: client k of the process sends in slot k % n_slots
 * of every period; slots are SLOT_NS apart.  Late ticks catch up. */
static gboolean
on_tick (gpointer data)
{
  guint64 t = now_ns ();

  if (g.phase == PHASE_WARMUP && t >= g.warmup_end) {
    g.phase = PHASE_MEASURE;
    getrusage (RUSAGE_SELF, &g.ru_start);
    g.measure_start_ns = t;
    printf ("MEASURE\n");
    fflush (stdout);
  }
  if (g.phase == PHASE_MEASURE && t >= g.measure_end) {
    g.phase = PHASE_DRAIN;
    g.measure_stop_ns = t;
    printf ("DRAIN\n");
    fflush (stdout);
  }
  if (g.phase == PHASE_DRAIN && t >= g.drain_end) {
    g.phase = PHASE_DONE;
    print_results ();
    g_main_loop_quit (g.loop);
    return G_SOURCE_REMOVE;
  }
  if (g.phase != PHASE_WARMUP && g.phase != PHASE_MEASURE)
    return G_SOURCE_CONTINUE;

  while (g.t0 + g.next_slot * SLOT_NS <= t) {
    guint slot = g.next_slot % g.n_slots;
    for (guint k = slot; k < g.n_clients; k += g.n_slots) {
      Client *c = &g.pairs[k / 2].c[k % 2];
      send_one (c, g.phase == PHASE_MEASURE);
    }
    g.next_slot++;
  }
  return G_SOURCE_CONTINUE;
}

static void
start_sending (void)
{
  GSource *s;

  g.phase = PHASE_WARMUP;
  g.t0 = now_ns ();
  g.next_slot = 0;
  g.warmup_end = g.t0 + (guint64) (g.warmup * 1e9);
  g.measure_end = g.warmup_end + (guint64) (g.duration * 1e9);
  g.drain_end = g.measure_end + G_GUINT64_CONSTANT (1000000000);
  s = g_timeout_source_new (1);
  g_source_set_priority (s, G_PRIORITY_HIGH);
  g_source_set_callback (s, on_tick, NULL, NULL);
  g_source_attach (s, NULL);
  g_source_unref (s);
}

static gboolean
on_stdin (gint fd, GIOCondition cond, gpointer data)
{
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n <= 0 || g.phase == PHASE_READY) {
    if (g.phase == PHASE_READY)
      start_sending ();
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
all_ready (void)
{
  g.phase = PHASE_READY;
  printf ("READY %u\n", g.ready);
  fflush (stdout);
  if (!g.wait_go)
    start_sending ();
  else
    g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, NULL);
}

static void
client_ready (Client * c)
{
  if (c->ready)
    return;
  c->ready = TRUE;
  g.ready++;
  if (g.ready == g.n_clients && g.phase == PHASE_SETUP)
    all_ready ();
}

/* --- QUIC setup ------------------------------------------------------- */

static void start_more (void);

static void
place_calls (void)
{
  for (gint i = 0; i < g.calls; i++) {
    Pair *p = &g.pairs[i];
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) offer = json_object_new ();

    json_object_set_string_member (offer, "bench", "offer");
    p->call_id = wzp_signal_client_place_call (p->c[0].sc,
        wzp_identity_get_fingerprint (p->c[1].id), NULL, offer, &error);
    if (p->call_id == NULL)
      die ("place_call: %s", error->message);
  }
}

static void
on_registered (WzpSignalClient * sc, GSocketAddress * observed, Client * c)
{
  if (c->registered)
    return;
  c->registered = TRUE;
  g.registered++;
  if (g.registered == g.n_clients)
    place_calls ();
  else
    start_more ();
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, Client * c)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = json_object_new ();

  json_object_set_string_member (answer, "bench", "answer");
  if (!wzp_signal_client_answer (sc, call_id, answer, &error))
    die ("answer: %s", error->message);
}

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * setup, Client * c)
{
  c->channel = setup->channel;
  client_ready (c);
}

static void
on_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    Client * c)
{
  g.calls_ended++;
  g_printerr ("wzp-loadgen: call %s ended: %s\n", call_id, reason);
}

static void
on_error (WzpSignalClient * sc, const GError * error, Client * c)
{
  g.errors++;
  if (g.errors < 10)
    g_printerr ("wzp-loadgen: client error: %s\n", error->message);
}

/* Clients share endpoints (one socket, one timer, one flush source each)
 * in groups of --clients-per-endpoint, each connection presenting its own
 * identity: with one endpoint per client, every GLib main-loop iteration
 * prepared, polled and checked thousands of sources and fds, and every
 * packet cost its own send syscall; that, not QUIC, saturated the
 * generator's core. */
static void
quic_client_init (Client * c, guint k)
{
  g_autoptr (GError) error = NULL;
  guint e = k / g.per_endpoint;

  if (g.endpoints[e] == NULL) {
    g_autoptr (GInetAddress) lo =
        g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
    g_autoptr (WzpIdentity) epid = wzp_identity_generate ();

    g.endpoints[e] = wzp_endpoint_new (NULL, epid, NULL, &error);
    if (g.endpoints[e] != NULL)
      g_object_set (g.endpoints[e], "ack-hold",
          (guint64) g.ack_hold_ms * 1000000, "ack-threshold",
          (guint) g.ack_threshold, NULL);
    if (g.endpoints[e] == NULL ||
        !wzp_endpoint_bind (g.endpoints[e], any, &error))
      die ("endpoint: %s", error->message);
  }
  c->id = wzp_identity_generate ();
  c->ep = g.endpoints[e];
  c->sc = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint", c->ep,
      "relay-address", g.relay_addr, "relay-fingerprint", g.fingerprint,
      "identity", c->id, NULL);
  g_signal_connect (c->sc, "registered", G_CALLBACK (on_registered), c);
  g_signal_connect (c->sc, "incoming-call", G_CALLBACK (on_incoming), c);
  g_signal_connect (c->sc, "call-setup", G_CALLBACK (on_setup), c);
  g_signal_connect (c->sc, "call-ended", G_CALLBACK (on_ended), c);
  g_signal_connect (c->sc, "error", G_CALLBACK (on_error), c);
  wzp_signal_client_set_media_handler (c->sc, on_media, c, NULL);
}

/* Keeps at most SETUP_CONCURRENCY handshakes in flight. */
static void
start_more (void)
{
  while (g.started < g.n_clients &&
      g.started - g.registered < SETUP_CONCURRENCY) {
    Client *c = &g.pairs[g.started / 2].c[g.started % 2];
    g_autoptr (GError) error = NULL;

    g.started++;
    if (!wzp_signal_client_start (c->sc, &error))
      die ("start: %s", error->message);
  }
}

/* --- UDP setup -------------------------------------------------------- */

static void
udp_client_init (Client * c)
{
  struct sockaddr_in lo = { 0 };

  c->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    die ("socket: %s", g_strerror (errno));
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (c->fd, (struct sockaddr *) &lo, sizeof lo) < 0 ||
      connect (c->fd, (struct sockaddr *) &g.relay_sin, sizeof g.relay_sin) < 0)
    die ("bind/connect: %s", g_strerror (errno));
  g_unix_fd_add (c->fd, G_IO_IN, on_udp_readable, c);
}

static gboolean
udp_hello (gpointer data)
{
  guint sent = 0;

  if (g.phase != PHASE_SETUP)
    return G_SOURCE_REMOVE;
  for (guint k = 0; k < g.n_clients && sent < 512; k++) {
    Client *c = &g.pairs[k / 2].c[k % 2];
    char line[64];
    int n;
    if (c->hello_ok)
      continue;
    n = g_snprintf (line, sizeof line, "HELLO %u\n", c->pair->id);
    if (send (c->fd, line, n, MSG_DONTWAIT) != n)
      g.errors++;
    sent++;
  }
  if (g.ready == g.n_clients)
    all_ready ();
  return G_SOURCE_CONTINUE;
}

/* --- main ------------------------------------------------------------- */

static gboolean
on_setup_timeout (gpointer data)
{
  if (g.phase == PHASE_SETUP)
    die ("setup timed out: %u/%u registered, %u/%u ready", g.registered,
        g.n_clients, g.ready, g.n_clients);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    {"relay", 'r', 0, G_OPTION_ARG_STRING, &g.relay,
        "Relay (or --udp forwarder) address", "IP:PORT"},
    {"fingerprint", 'f', 0, G_OPTION_ARG_STRING, &g.fingerprint,
        "Relay fingerprint (QUIC mode)", "FP"},
    {"udp", 'u', 0, G_OPTION_ARG_NONE, &g.udp,
        "Plain UDP to bench/udp-forwarder instead of wzp", NULL},
    {"calls", 'n', 0, G_OPTION_ARG_INT, &g.calls, "Calls (client pairs)",
        "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &g.warmup,
        "Seconds of sending before measuring (default 2)", "S"},
    {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &g.duration,
        "Seconds measured (default 10)", "S"},
    {"payload", 0, 0, G_OPTION_ARG_INT, &g.payload,
        "Media payload bytes (default 110)", "BYTES"},
    {"rate", 0, 0, G_OPTION_ARG_INT, &g.rate,
        "Packets/s per client (default 50)", "PPS"},
    {"wait-go", 0, 0, G_OPTION_ARG_NONE, &g.wait_go,
        "After READY, wait for a line on stdin", NULL},
    {"id-offset", 0, 0, G_OPTION_ARG_INT, &g.id_offset,
        "First pair id (unique across processes)", "K"},
    {"setup-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &g.setup_timeout,
        "Seconds allowed for setup (default 180)", "S"},
    {"clients-per-endpoint", 0, 0, G_OPTION_ARG_INT, &g.per_endpoint,
        "QUIC clients sharing one endpoint/socket (default 32; 1 = one "
          "socket per client)", "K"},
    {"ack-hold-ms", 0, 0, G_OPTION_ARG_INT, &g.ack_hold_ms,
        "Clients' WzpEndpoint:ack-hold in ms (default 20; 0 = off)", "MS"},
    {"ack-threshold", 0, 0, G_OPTION_ARG_INT, &g.ack_threshold,
          "Clients' WzpEndpoint:ack-threshold (default 8; libwzp's is 2)",
        "N"},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- relay load");
  GError *error = NULL;

  g.warmup = 2;
  g.duration = 10;
  g.payload = 110;
  g.rate = 50;
  g.setup_timeout = 180;
  g.per_endpoint = 32;
  g.ack_hold_ms = 20;
  g.ack_threshold = 8;
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    die ("%s", error->message);
  if (g.relay == NULL || g.calls <= 0 || (!g.udp && g.fingerprint == NULL))
    die ("need --relay, --calls and (QUIC) --fingerprint");
  if (g.payload < (gint) sizeof (Stamp) || g.payload > 1200)
    die ("--payload must be %zu..1200", sizeof (Stamp));
  if (g.rate <= 0 || 1000000000 / g.rate < SLOT_NS)
    die ("bad --rate");

  wzp_log_set_threshold ("*", WZP_LOG_WARNING);
  g.period_ns = 1000000000 / g.rate;
  g.n_slots = g.period_ns / SLOT_NS;
  g.hist = g_new0 (guint64, HIST_BUCKETS);
  g.loop = g_main_loop_new (NULL, FALSE);
  g.relay_addr = wzp_socket_address_parse (g.relay, &error);
  if (g.relay_addr == NULL)
    die ("--relay: %s", error->message);
  if (!g_socket_address_to_native (g.relay_addr, &g.relay_sin,
          sizeof g.relay_sin, &error))
    die ("--relay: %s (IPv4 only)", error->message);

  if (g.per_endpoint < 1)
    die ("bad --clients-per-endpoint");
  g.n_clients = 2 * g.calls;
  g.pairs = g_new0 (Pair, g.calls);
  g.endpoints = g_new0 (WzpEndpoint *, g.n_clients / g.per_endpoint + 1);
  for (gint i = 0; i < g.calls; i++) {
    Pair *p = &g.pairs[i];
    p->id = g.id_offset + i;
    for (guint j = 0; j < 2; j++) {
      p->c[j].pair = p;
      p->c[j].caller = j == 0;
      if (g.udp)
        udp_client_init (&p->c[j]);
      else
        quic_client_init (&p->c[j], 2 * i + j);
    }
  }
  g_timeout_add_seconds ((guint) g.setup_timeout, on_setup_timeout, NULL);
  if (g.udp)
    g_timeout_add (100, udp_hello, NULL);
  else
    start_more ();

  g_main_loop_run (g.loop);
  return g.ready == g.n_clients ? 0 : 1;
}
