/* wzp-fault — hostile and legitimate clients for the fault suite and the
 * relay-flood benchmark.  Each subcommand does one thing against a
 * running wzp-relay and prints one JSON object on stdout:
 *
 *   flood     half-open handshake flood: valid QUIC Initials, each with a
 *             fresh connection ID, never continued (see below)
 *   register  real clients (WzpSignalClient) registering, one after the
 *             other: how long each took
 *   idle      connections that finish the handshake and never register
 *   register-many  many identities registering from one socket
 *   probes    one client floods NAT-probe requests, another probes
 *   messages  one client sends a burst of messages, another asks once
 *   media-flood  garbage and forged channel packets to the media port:
 *             random bytes, channel packets for channels 1..N with random
 *             tokens, forged BINDs (docs/PROTOCOL.md, Part A §7)
 *   call      a legitimate call meanwhile: two clients, media both ways
 *             on the relay's media channels, what arrived
 *
 * The flood generator.  An attacker does not need a QUIC stack: it takes
 * one real client Initial (a ClientHello in a CRYPTO frame), and for each
 * packet picks a new destination connection ID, derives that ID's Initial
 * keys (RFC 9001 §5.2: HKDF with the public v1 salt) and encrypts the
 * same plaintext again (AES-128-GCM, header protection with AES-ECB).
 * The server cannot tell these from new clients: each one is a new
 * handshake unless the server validates addresses.  The source
 * connection ID stays that of the captured packet, because the
 * ClientHello's transport parameters name it.  It runs at a bounded rate,
 * for a bounded time, from --sources UDP sockets on 127.1.0.1, 127.1.0.2
 * ... (all of 127/8 is local on Linux: distinct sources without
 * spoofing or root), and counts what the relay sends back (reflection).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "wzp-endpoint.h"
#include "wzp-signal-client.h"
#include "wzp-channel.h"
#include "wzp-random.h"
#include "wzp-test-relay-client.h"
#include "wzp-test-util.h"
#include "wzp-log-private.h"

static GMainContext *ctx;

static GSocketAddress *
parse_address (const char *text)
{
  g_autoptr (GError) error = NULL;
  GSocketAddress *a = wzp_socket_address_parse (text, &error);

  if (a == NULL)
    g_error ("bad address %s: %s", text, error->message);
  return a;
}

static WzpEndpoint *
new_endpoint (const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) addr = NULL;
  WzpEndpoint *ep;

  if (ip == NULL)
    g_error ("bad host %s", host);
  addr = g_inet_socket_address_new (ip, 0);
  ep = wzp_endpoint_new (ctx, id, NULL, &error);
  if (ep == NULL || !wzp_endpoint_bind (ep, addr, &error))
    g_error ("endpoint on %s: %s", host, error->message);
  return ep;
}

static void
print_json (JsonBuilder * b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

#define MEMBER(name, v) G_STMT_START {                                  \
  json_builder_set_member_name (b, name);                               \
  json_builder_add_int_value (b, v);                                    \
} G_STMT_END

/* === the flood ========================================================= */

#define SALT_LEN 20
static const guint8 initial_salt_v1[SALT_LEN] = {
  0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
  0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a
};

typedef struct
{
  guint8 key[16];
  guint8 iv[12];
  guint8 hp[16];
} InitialKeys;

/* HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for L <= 32. */
static void
expand_label (const guint8 * secret, const char *label, guint8 * out, gsize len)
{
  guint8 info[64];
  gsize n = 0, llen = strlen ("tls13 ") + strlen (label);
  guint8 t[EVP_MAX_MD_SIZE];
  unsigned int tlen = 0;

  info[n++] = 0;
  info[n++] = (guint8) len;
  info[n++] = (guint8) llen;
  memcpy (info + n, "tls13 ", 6);
  n += 6;
  memcpy (info + n, label, strlen (label));
  n += strlen (label);
  info[n++] = 0;                /* context length */
  info[n++] = 1;                /* HKDF-Expand: T(1) = HMAC(PRK, info | 1) */
  HMAC (EVP_sha256 (), secret, 32, info, n, t, &tlen);
  memcpy (out, t, len);
}

static void
derive_client_keys (const guint8 * dcid, gsize dcid_len, InitialKeys * k)
{
  guint8 initial[EVP_MAX_MD_SIZE], client[32];
  unsigned int len = 0;

  HMAC (EVP_sha256 (), initial_salt_v1, SALT_LEN, dcid, dcid_len, initial,
      &len);
  expand_label (initial, "client in", client, 32);
  expand_label (client, "quic key", k->key, 16);
  expand_label (client, "quic iv", k->iv, 12);
  expand_label (client, "quic hp", k->hp, 16);
}

static void
hp_mask (const guint8 * hp_key, const guint8 * sample, guint8 mask[16])
{
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
  int len = 0;

  EVP_EncryptInit_ex (c, EVP_aes_128_ecb (), NULL, hp_key, NULL);
  EVP_CIPHER_CTX_set_padding (c, 0);
  EVP_EncryptUpdate (c, mask, &len, sample, 16);
  EVP_CIPHER_CTX_free (c);
}

static gboolean
aead (gboolean encrypt, const InitialKeys * k, guint64 pn,
    const guint8 * aad, gsize aad_len, const guint8 * in, gsize in_len,
    guint8 * out, guint8 * tag)
{
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
  guint8 nonce[12];
  int len = 0, ok;

  memcpy (nonce, k->iv, 12);
  for (guint i = 0; i < 8; i++)
    nonce[11 - i] ^= (guint8) (pn >> (8 * i));
  ok = encrypt ?
      EVP_EncryptInit_ex (c, EVP_aes_128_gcm (), NULL, k->key, nonce) :
      EVP_DecryptInit_ex (c, EVP_aes_128_gcm (), NULL, k->key, nonce);
  if (encrypt) {
    ok = ok && EVP_EncryptUpdate (c, NULL, &len, aad, aad_len);
    ok = ok && EVP_EncryptUpdate (c, out, &len, in, in_len);
    ok = ok && EVP_EncryptFinal_ex (c, out + len, &len);
    ok = ok && EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_GET_TAG, 16, tag);
  } else {
    ok = ok && EVP_DecryptUpdate (c, NULL, &len, aad, aad_len);
    ok = ok && EVP_DecryptUpdate (c, out, &len, in, in_len);
    ok = ok && EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_SET_TAG, 16, tag);
    ok = ok && EVP_DecryptFinal_ex (c, out + len, &len);
  }
  EVP_CIPHER_CTX_free (c);
  return ok == 1;
}

static gsize
read_varint (const guint8 * p, guint64 * v)
{
  gsize len = (gsize) 1 << (p[0] >> 6);

  *v = p[0] & 0x3f;
  for (gsize i = 1; i < len; i++)
    *v = (*v << 8) | p[i];
  return len;
}

typedef struct
{
  guint8 scid[20];
  gsize scid_len;
  guint8 *plaintext;            /* the frames: CRYPTO(ClientHello), PADDING */
  gsize plaintext_len;
} CapturedInitial;

/* The first Initial of a real wzp client, decrypted. */
static void
capture_initial (CapturedInitial * out)
{
  g_autoptr (WzpEndpoint) ep = new_endpoint ("127.0.0.1");
  struct sockaddr_in cap = { 0 };
  socklen_t slen = sizeof cap;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (WzpConnection) conn = NULL;
  guint8 pkt[2048], mask[16], dcid[20];
  gssize n = -1;
  gsize off = 5, dcid_len, pn_off, pn_len;
  guint64 token_len, length, pn = 0;
  InitialKeys k;

  cap.sin_family = AF_INET;
  cap.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &cap, sizeof cap) != 0 ||
      getsockname (fd, (struct sockaddr *) &cap, &slen) != 0)
    g_error ("capture socket: %s", g_strerror (errno));
  to = g_socket_address_new_from_native (&cap, slen);
  conn = wzp_endpoint_connect (ep, to, NULL, NULL);
  while ((n = recv (fd, pkt, sizeof pkt, 0)) <= 0)
    wzp_test_iterate (ctx, 5);
  wzp_connection_close (conn, 0, "captured");
  close (fd);

  /* Long header: flags, version, DCID, SCID, token, length, PN. */
  if (n < 1200 || (pkt[0] & 0xf0) != 0xc0)
    g_error ("captured %" G_GSSIZE_FORMAT " bytes, not an Initial", n);
  dcid_len = pkt[off++];
  memcpy (dcid, pkt + off, dcid_len);
  off += dcid_len;
  out->scid_len = pkt[off++];
  memcpy (out->scid, pkt + off, out->scid_len);
  off += out->scid_len;
  off += read_varint (pkt + off, &token_len);
  off += token_len;
  off += read_varint (pkt + off, &length);
  pn_off = off;

  derive_client_keys (dcid, dcid_len, &k);
  hp_mask (k.hp, pkt + pn_off + 4, mask);
  pkt[0] ^= mask[0] & 0x0f;
  pn_len = (pkt[0] & 3) + 1;
  for (gsize i = 0; i < pn_len; i++) {
    pkt[pn_off + i] ^= mask[1 + i];
    pn = (pn << 8) | pkt[pn_off + i];
  }
  out->plaintext_len = length - pn_len - 16;
  out->plaintext = g_malloc (out->plaintext_len + 64);
  if (!aead (FALSE, &k, pn, pkt, pn_off + pn_len, pkt + pn_off + pn_len,
          out->plaintext_len, out->plaintext,
          pkt + pn_off + pn_len + out->plaintext_len))
    g_error ("cannot decrypt the captured Initial");
}

/* A new Initial: fresh DCID, the captured SCID and plaintext.  Returns
 * its length (at least 1200). */
static gsize
forge_initial (const CapturedInitial * c, guint8 * pkt)
{
  guint8 dcid[18], mask[16];
  gsize off = 0, pn_off, len;
  gsize pt_len = c->plaintext_len;
  g_autofree guint8 *pt = NULL;
  InitialKeys k;

  RAND_bytes (dcid, sizeof dcid);
  pkt[off++] = 0xc3;            /* long header, Initial, 4-byte PN */
  pkt[off++] = 0;
  pkt[off++] = 0;
  pkt[off++] = 0;
  pkt[off++] = 1;
  pkt[off++] = sizeof dcid;
  memcpy (pkt + off, dcid, sizeof dcid);
  off += sizeof dcid;
  pkt[off++] = c->scid_len;
  memcpy (pkt + off, c->scid, c->scid_len);
  off += c->scid_len;
  pkt[off++] = 0;               /* no token */
  /* Pad (PADDING frames are zeros) so the datagram is >= 1200 bytes. */
  if (off + 2 + 4 + pt_len + 16 < 1200)
    pt_len = 1200 - (off + 2 + 4 + 16);
  pt = g_malloc0 (pt_len);
  memcpy (pt, c->plaintext, c->plaintext_len);
  len = 4 + pt_len + 16;
  pkt[off++] = 0x40 | (guint8) (len >> 8);
  pkt[off++] = (guint8) len;
  pn_off = off;
  memset (pkt + off, 0, 4);     /* packet number 0 */
  off += 4;
  derive_client_keys (dcid, sizeof dcid, &k);
  if (!aead (TRUE, &k, 0, pkt, off, pt, pt_len, pkt + off, pkt + off + pt_len))
    g_error ("encrypting failed");
  off += pt_len + 16;
  hp_mask (k.hp, pkt + pn_off + 4, mask);
  pkt[0] ^= mask[0] & 0x0f;
  for (guint i = 0; i < 4; i++)
    pkt[pn_off + i] ^= mask[1 + i];
  return off;
}

static int
cmd_flood (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  gint rate = 5000, sources = 16;
  gdouble duration = 3;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"rate", 0, 0, G_OPTION_ARG_INT, &rate, "Initials per second", NULL},
    {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration, "Seconds", NULL},
    {"sources", 0, 0, G_OPTION_ARG_INT, &sources, "Source addresses",
        NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- handshake flood");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  struct sockaddr_storage dst;
  CapturedInitial cap = { 0 };
  int *fds;
  guint64 sent = 0, sent_bytes = 0, rx = 0, rx_bytes = 0;
  gint64 t0, end, now;
  guint8 pkt[1500];

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL ||
      rate <= 0 || sources <= 0 || sources > 65000)
    return 2;
  to = parse_address (relay);
  g_socket_address_to_native (to, &dst, sizeof dst, NULL);
  capture_initial (&cap);

  fds = g_new (int, sources);
  for (int i = 0; i < sources; i++) {
    struct sockaddr_in src = { 0 };
    int size = 4 * 1024 * 1024;

    src.sin_family = AF_INET;
    /* 127.1.0.1, 127.1.0.2, ... */
    src.sin_addr.s_addr = htonl (0x7f010000u + 1 + i);
    fds[i] = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    setsockopt (fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (bind (fds[i], (struct sockaddr *) &src, sizeof src) != 0)
      g_error ("bind 127.1.x.x: %s", g_strerror (errno));
  }

  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (duration * G_USEC_PER_SEC);
  while ((now = g_get_monotonic_time ()) < end) {
    guint64 due = (guint64) ((now - t0) * (double) rate / G_USEC_PER_SEC);
    guint burst = 0;

    while (sent < due && burst++ < 256) {
      gsize len = forge_initial (&cap, pkt);
      int fd = fds[sent % sources];

      if (sendto (fd, pkt, len, 0, (struct sockaddr *) &dst,
              sizeof (struct sockaddr_in)) == (gssize) len)
        sent_bytes += len;
      sent++;
    }
    /* What comes back: Retry packets, or whole server flights. */
    for (int i = 0; i < sources; i++) {
      gssize n;
      guint8 in[2048];

      while ((n = recv (fds[i], in, sizeof in, 0)) > 0) {
        rx++;
        rx_bytes += n;
      }
    }
    if (sent >= due)
      g_usleep (500);
  }
  /* Late answers (a server flight is resent for a while): 1 s more. */
  end = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end) {
    for (int i = 0; i < sources; i++) {
      gssize n;
      guint8 in[2048];

      while ((n = recv (fds[i], in, sizeof in, 0)) > 0) {
        rx++;
        rx_bytes += n;
      }
    }
    g_usleep (2000);
  }
  for (int i = 0; i < sources; i++)
    close (fds[i]);
  g_free (fds);
  g_free (cap.plaintext);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sent");
  json_builder_add_int_value (b, sent);
  json_builder_set_member_name (b, "sent_bytes");
  json_builder_add_int_value (b, sent_bytes);
  json_builder_set_member_name (b, "received");
  json_builder_add_int_value (b, rx);
  json_builder_set_member_name (b, "received_bytes");
  json_builder_add_int_value (b, rx_bytes);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, duration);
  json_builder_set_member_name (b, "rate");
  json_builder_add_double_value (b, sent / duration);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === register ========================================================== */

static int
cmd_register (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  g_autofree char *fp = NULL;
  g_autofree char *bind = NULL;
  gint count = 1, interval_ms = 0, timeout_ms = 10000;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"fingerprint", 0, 0, G_OPTION_ARG_STRING, &fp, "Relay fingerprint",
        NULL},
    {"bind", 0, 0, G_OPTION_ARG_STRING, &bind, "Local IP", NULL},
    {"count", 0, 0, G_OPTION_ARG_INT, &count, "Registrations", NULL},
    {"interval-ms", 0, 0, G_OPTION_ARG_INT, &interval_ms, "Pause between",
        NULL},
    {"timeout-ms", 0, 0, G_OPTION_ARG_INT, &timeout_ms, "Give up after",
        NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- register");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint failed = 0;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL)
    return 2;
  to = parse_address (relay);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "latencies_ms");
  json_builder_begin_array (b);
  for (int i = 0; i < count; i++) {
    g_autoptr (WzpEndpoint) ep = new_endpoint (bind ? bind : "127.0.0.1");
    g_autoptr (WzpSignalClient) sc = wzp_signal_client_new (ep, to, fp);
    gint64 t0 = g_get_monotonic_time ();
    gint64 deadline = t0 + (gint64) timeout_ms * 1000;

    wzp_signal_client_start (sc, NULL);
    while (wzp_signal_client_get_state (sc) != WZP_SIGNAL_STATE_REGISTERED &&
        g_get_monotonic_time () < deadline)
      wzp_test_iterate (ctx, 5);
    if (wzp_signal_client_get_state (sc) == WZP_SIGNAL_STATE_REGISTERED)
      json_builder_add_double_value (b, (g_get_monotonic_time () - t0) /
          1000.0);
    else
      failed++;
    wzp_signal_client_stop (sc);
    wzp_test_run_for (ctx, MAX (interval_ms, 1));
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, failed);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === idle ============================================================== */

static int
cmd_idle (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  gint count = 10;
  gdouble hold = 10;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"count", 0, 0, G_OPTION_ARG_INT, &count, "Connections", NULL},
    {"hold", 0, 0, G_OPTION_ARG_DOUBLE, &hold, "Seconds to wait at most",
        NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- idle");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (WzpEndpoint) ep = NULL;
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func
      ((GDestroyNotify) wzp_test_relay_client_free);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  guint connected = 0, hello = 0, closed = 0, limit_code = 0, timeout_error = 0;
  gint64 end;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL)
    return 2;
  to = parse_address (relay);
  ep = new_endpoint ("127.0.0.1");
  for (int i = 0; i < count; i++)
    g_ptr_array_add (clients, wzp_test_relay_client_new (ep, to, id));
  end = g_get_monotonic_time () + (gint64) (hold * G_USEC_PER_SEC);
  for (;;) {
    closed = 0;
    for (guint i = 0; i < clients->len; i++)
      closed += ((WzpTestRelayClient *) g_ptr_array_index (clients, i))->closed;
    if (closed == clients->len || g_get_monotonic_time () > end)
      break;
    wzp_test_iterate (ctx, 20);
  }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "closed_after_ms");
  json_builder_begin_array (b);
  for (guint i = 0; i < clients->len; i++) {
    WzpTestRelayClient *c = g_ptr_array_index (clients, i);

    connected += c->connected_at != 0;
    hello += c->hello;
    if (c->closed && c->connected_at)
      json_builder_add_double_value (b, (c->closed_at - c->connected_at) /
          1000.0);
    limit_code += c->have_close_code && c->close_code == WZP_CLOSE_LIMIT;
    timeout_error += wzp_test_relay_client_count (c, "error",
        "registration-timeout");
  }
  json_builder_end_array (b);
  MEMBER ("connected", connected);
  MEMBER ("hello", hello);
  MEMBER ("closed", closed);
  MEMBER ("closed_with_limit_code", limit_code);
  MEMBER ("registration_timeout_errors", timeout_error);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === register-many ===================================================== */

/* One identity after the other (so which ones get in does not depend on
 * timing) on @ep; all stay connected until the process ends. */
static void
register_one (WzpEndpoint * ep, GSocketAddress * to, GPtrArray * clients)
{
  WzpTestRelayClient *c = wzp_test_relay_client_new (ep, to, NULL);
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_ptr_array_add (clients, c);
  while (!c->hello && !c->closed && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
  if (c->hello)
    wzp_test_relay_client_register (c);
  while (!c->registered && !c->closed &&
      wzp_test_relay_client_count (c, "error", NULL) == 0 &&
      g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
}

static int
cmd_register_many (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *plan = NULL;
  gint count = 10;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"bind", 0, 0, G_OPTION_ARG_STRING, &bind, "Local IP", NULL},
    {"count", 0, 0, G_OPTION_ARG_INT, &count, "Identities", NULL},
    {"plan", 0, 0, G_OPTION_ARG_STRING, &plan, "IP=N,IP=N...: N identities "
          "from each local IP in turn (instead of --bind/--count)", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- register many");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (GPtrArray) endpoints = g_ptr_array_new_with_free_func
      (g_object_unref);
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func
      ((GDestroyNotify) wzp_test_relay_client_free);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_auto (GStrv) steps = NULL;
  guint registered = 0, refused = 0, closed_limit = 0, done;
  gint64 end;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL)
    return 2;
  to = parse_address (relay);
  if (plan == NULL)
    plan = g_strdup_printf ("%s=%d", bind ? bind : "127.0.0.1", count);
  steps = g_strsplit (plan, ",", -1);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "plan");
  json_builder_begin_array (b);
  for (guint s = 0; steps[s]; s++) {
    char *eq = strrchr (steps[s], '=');
    WzpEndpoint *ep;
    guint first = clients->len, ok = 0, no = 0;

    if (eq == NULL)
      return 2;
    *eq = '\0';
    ep = new_endpoint (steps[s]);
    g_ptr_array_add (endpoints, ep);
    for (int i = 0; i < atoi (eq + 1); i++)
      register_one (ep, to, clients);
    for (guint i = first; i < clients->len; i++) {
      WzpTestRelayClient *c = g_ptr_array_index (clients, i);
      ok += c->registered;
      no += wzp_test_relay_client_count (c, "error", "too-many") > 0;
    }
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "bind");
    json_builder_add_string_value (b, steps[s]);
    MEMBER ("registered", ok);
    MEMBER ("refused", no);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  /* Refused ones are closed (0x105) right after their error. */
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do {
    done = 0;
    for (guint i = 0; i < clients->len; i++) {
      WzpTestRelayClient *c = g_ptr_array_index (clients, i);
      done += c->registered || c->closed;
    }
    wzp_test_iterate (ctx, 10);
  } while (done < clients->len && g_get_monotonic_time () < end);
  for (guint i = 0; i < clients->len; i++) {
    WzpTestRelayClient *c = g_ptr_array_index (clients, i);

    registered += c->registered;
    refused += wzp_test_relay_client_count (c, "error", "too-many") > 0;
    closed_limit += c->have_close_code && c->close_code == WZP_CLOSE_LIMIT;
  }
  MEMBER ("registered", registered);
  MEMBER ("refused", refused);
  MEMBER ("closed_with_limit_code", closed_limit);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === probes ============================================================ */

static void
on_nat_type (GObject * sc, GParamSpec * pspec, gint64 * at)
{
  if (*at == 0)
    *at = g_get_monotonic_time ();
}

static WzpTestRelayClient *
raw_registered (WzpEndpoint * ep, GSocketAddress * to)
{
  WzpTestRelayClient *c = wzp_test_relay_client_new (ep, to, NULL);
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!c->hello && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
  if (!c->hello)
    g_error ("no hello from the relay");
  wzp_test_relay_client_register (c);
  while (!c->registered && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
  if (!c->registered)
    g_error ("could not register");
  return c;
}

static int
cmd_probes (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  g_autofree char *fp = NULL;
  gint greedy = 100;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"fingerprint", 0, 0, G_OPTION_ARG_STRING, &fp, "Relay fingerprint",
        NULL},
    {"greedy", 0, 0, G_OPTION_ARG_INT, &greedy, "Requests the greedy "
          "client sends", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- probes");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (WzpEndpoint) ep_a = NULL;
  g_autoptr (WzpEndpoint) ep_b = NULL;
  g_autoptr (WzpTestRelayClient) a = NULL;
  g_autoptr (WzpSignalClient) sc = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GError) error = NULL;
  gint64 end, t0, nat_at = 0;
  guint refused;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL)
    return 2;
  to = parse_address (relay);
  ep_a = new_endpoint ("127.0.0.1");
  ep_b = new_endpoint ("127.0.0.2");

  /* A: registered, then a flood of probe requests whose raw packets never
   * come. */
  a = raw_registered (ep_a, to);
  for (int i = 0; i < greedy; i++) {
    guint8 token[WZP_PROBE_TOKEN_LEN];
    RAND_bytes (token, sizeof token);
    wzp_test_relay_client_send (a, wzp_message_new_probe_request (token));
  }
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (wzp_test_relay_client_count (a, "error", "too-many") +
      wzp_test_relay_client_count (a, "error", "rate-limited") <
      (guint) MAX (greedy - 4, 0) && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
  wzp_test_run_for (ctx, 200);
  refused = wzp_test_relay_client_count (a, "error", "too-many");

  /* B: a real client (WzpSignalClient) probing its NAT type. */
  sc = wzp_signal_client_new (ep_b, to, fp);
  g_signal_connect (sc, "notify::nat-type", G_CALLBACK (on_nat_type), &nat_at);
  wzp_signal_client_start (sc, NULL);
  while (wzp_signal_client_get_state (sc) != WZP_SIGNAL_STATE_REGISTERED &&
      g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);
  t0 = g_get_monotonic_time ();
  nat_at = 0;
  if (!wzp_signal_client_probe_nat (sc, &error))
    g_error ("probe: %s", error->message);
  end = t0 + 10 * G_USEC_PER_SEC;
  while (nat_at == 0 && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 5);

  json_builder_begin_object (b);
  MEMBER ("greedy_sent", greedy);
  MEMBER ("greedy_refused", refused);
  MEMBER ("greedy_rate_limited", wzp_test_relay_client_count (a, "error",
          "rate-limited"));
  json_builder_set_member_name (b, "other_nat");
  {
    g_autoptr (GEnumClass) k = g_type_class_ref (WZP_TYPE_NAT_TYPE);
    GEnumValue *v = g_enum_get_value (k, wzp_signal_client_get_nat_type (sc));
    json_builder_add_string_value (b, nat_at ? v->value_nick : "none");
  }
  json_builder_set_member_name (b, "other_ms");
  json_builder_add_double_value (b, nat_at ? (nat_at - t0) / 1000.0 : -1);
  json_builder_end_object (b);
  print_json (b);
  wzp_signal_client_stop (sc);
  return 0;
}

/* === messages ========================================================== */

static int
cmd_messages (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  gint count = 1000;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"count", 0, 0, G_OPTION_ARG_INT, &count, "Messages", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- messages");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (WzpEndpoint) ep_a = NULL;
  g_autoptr (WzpEndpoint) ep_b = NULL;
  g_autoptr (WzpTestRelayClient) a = NULL;
  g_autoptr (WzpTestRelayClient) other = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gint64 t0, other_ms;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL)
    return 2;
  to = parse_address (relay);
  ep_a = new_endpoint ("127.0.0.1");
  ep_b = new_endpoint ("127.0.0.2");
  a = raw_registered (ep_a, to);
  other = raw_registered (ep_b, to);
  for (int i = 0; i < count; i++)
    wzp_test_relay_client_send (a, wzp_message_new_reflect ());
  /* Meanwhile another client asks once. */
  t0 = g_get_monotonic_time ();
  wzp_test_relay_client_send (other, wzp_message_new_reflect ());
  while (wzp_test_relay_client_count (other, "reflected", NULL) == 0 &&
      g_get_monotonic_time () < t0 + 10 * G_USEC_PER_SEC)
    wzp_test_iterate (ctx, 5);
  other_ms = (g_get_monotonic_time () - t0) / 1000;
  wzp_test_run_for (ctx, 500);
  json_builder_begin_object (b);
  MEMBER ("sent", count);
  MEMBER ("answered", wzp_test_relay_client_count (a, "reflected", NULL));
  MEMBER ("rate_limited_errors", wzp_test_relay_client_count (a, "error",
          "rate-limited"));
  MEMBER ("other_answered", wzp_test_relay_client_count (other, "reflected",
          NULL));
  MEMBER ("other_ms", other_ms);
  MEMBER ("closed", a->closed);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === media-flood ======================================================== */

static int
cmd_media_flood (int argc, char **argv)
{
  g_autofree char *media = NULL;
  gint rate = 20000, sources = 16, channels = 64;
  gdouble duration = 3;
  GOptionEntry entries[] = {
    {"media", 0, 0, G_OPTION_ARG_STRING, &media, "Media port ADDR:PORT",
        NULL},
    {"rate", 0, 0, G_OPTION_ARG_INT, &rate, "Packets per second", NULL},
    {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration, "Seconds", NULL},
    {"sources", 0, 0, G_OPTION_ARG_INT, &sources, "Source addresses",
        NULL},
    {"channels", 0, 0, G_OPTION_ARG_INT, &channels,
        "Forge packets for channels 1..N", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- media flood");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  struct sockaddr_storage dst;
  guint64 sent = 0, sent_bytes = 0, rx = 0;
  gint64 t0, end, now;
  guint8 pkt[WZP_CHANNEL_MAX_LEN];
  int *fds;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || media == NULL ||
      rate <= 0 || sources <= 0 || sources > 65000 || channels <= 0)
    return 2;
  to = parse_address (media);
  g_socket_address_to_native (to, &dst, sizeof dst, NULL);
  fds = g_new (int, sources);
  for (int i = 0; i < sources; i++) {
    struct sockaddr_in src = { 0 };

    src.sin_family = AF_INET;
    /* 127.2.0.1, ...: not where any client signals from. */
    src.sin_addr.s_addr = htonl (0x7f020000u + 1 + i);
    fds[i] = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (bind (fds[i], (struct sockaddr *) &src, sizeof src) != 0)
      g_error ("bind 127.2.x.x: %s", g_strerror (errno));
  }
  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (duration * G_USEC_PER_SEC);
  while ((now = g_get_monotonic_time ()) < end) {
    guint64 due = (guint64) ((now - t0) * (double) rate / G_USEC_PER_SEC);
    guint burst = 0;

    while (sent < due && burst++ < 256) {
      guint32 channel = 1 + wzp_random_u32 () % channels;
      gsize len = 1 + wzp_random_u32 () % 300;

      wzp_random_bytes (pkt, len);
      switch (sent % 4) {
        case 0:                /* garbage */
          break;
        case 1:                /* media on a live-looking channel */
          len = MAX (len, WZP_CHANNEL_HEADER_LEN + 1);
          wzp_channel_write_header (pkt, WZP_CHANNEL_MEDIA, channel, pkt + 5);
          break;
        case 2:                /* a BIND with a guessed token */
          len = wzp_channel_write_bind (pkt, WZP_CHANNEL_BIND, channel,
              pkt + 5, WZP_CHANNEL_FLAG_RECEIVING, wzp_random_u32 ());
          break;
        case 3:                /* the largest channel packet there is */
          len = WZP_CHANNEL_MAX_LEN;
          wzp_channel_write_header (pkt, WZP_CHANNEL_MEDIA, channel, pkt + 5);
          break;
      }
      if (sendto (fds[sent % sources], pkt, len, 0, (struct sockaddr *) &dst,
              sizeof (struct sockaddr_in)) == (gssize) len)
        sent_bytes += len;
      sent++;
    }
    for (int i = 0; i < sources; i++)
      while (recv (fds[i], pkt, sizeof pkt, 0) > 0)
        rx++;
    if (sent >= due)
      g_usleep (500);
  }
  g_usleep (200000);
  for (int i = 0; i < sources; i++) {
    while (recv (fds[i], pkt, sizeof pkt, 0) > 0)
      rx++;
    close (fds[i]);
  }
  g_free (fds);
  json_builder_begin_object (b);
  MEMBER ("sent", sent);
  MEMBER ("sent_bytes", sent_bytes);
  /* Anything the relay answered (a BIND-ACK would mean a guessed token). */
  MEMBER ("received", rx);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, duration);
  json_builder_end_object (b);
  print_json (b);
  return 0;
}

/* === call =============================================================== */

typedef struct
{
  WzpSignalClient *sc;
  WzpEndpoint *ep;
  WzpIdentity *id;
  guint32 channel;
  gboolean setup;
  guint sent, received, ended;
} CallParty;

static void
party_media (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  CallParty *p = user_data;

  if (channel == p->channel && len == 110 && data[0] == 0x5a)
    p->received++;
}

static void
party_setup (WzpSignalClient * sc, WzpCallSetup * setup, CallParty * p)
{
  p->channel = setup->channel;
  p->setup = TRUE;
}

static void
party_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, CallParty * p)
{
  g_autoptr (JsonObject) answer = json_object_new ();

  json_object_set_string_member (answer, "fault", "answer");
  wzp_signal_client_answer (sc, call_id, answer, NULL);
}

static void
party_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    CallParty * p)
{
  p->ended++;
}

static void
party_init (CallParty * p, const char *host, GSocketAddress * relay,
    const char *fp)
{
  p->id = wzp_identity_generate ();
  p->ep = new_endpoint (host);
  p->sc = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint", p->ep,
      "relay-address", relay, "relay-fingerprint", fp, "identity", p->id, NULL);
  g_signal_connect (p->sc, "call-setup", G_CALLBACK (party_setup), p);
  g_signal_connect (p->sc, "incoming-call", G_CALLBACK (party_incoming), p);
  g_signal_connect (p->sc, "call-ended", G_CALLBACK (party_ended), p);
  wzp_signal_client_set_media_handler (p->sc, party_media, p, NULL);
  wzp_signal_client_start (p->sc, NULL);
}

static const char *
party_channel (CallParty * p)
{
  WzpRelayChannelStats st;

  wzp_signal_client_get_channel_stats (p->sc, p->channel, &st);
  return wzp_relay_channel_state_to_string (st.state);
}

static int
cmd_call (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  g_autofree char *fp = NULL;
  gdouble seconds = 3;
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Relay ADDR:PORT", NULL},
    {"fingerprint", 0, 0, G_OPTION_ARG_STRING, &fp, "Relay fingerprint",
        NULL},
    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds of media",
        NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) o = g_option_context_new ("- a call");
  g_autoptr (GSocketAddress) to = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonObject) offer = json_object_new ();
  CallParty a = { 0 }, c = { 0 };
  guint8 payload[110];
  gint64 end;

  g_option_context_add_main_entries (o, entries, NULL);
  if (!g_option_context_parse (o, &argc, &argv, NULL) || relay == NULL ||
      fp == NULL)
    return 2;
  to = parse_address (relay);
  party_init (&a, "127.0.0.1", to, fp);
  party_init (&c, "127.0.0.1", to, fp);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while ((wzp_signal_client_get_state (a.sc) != WZP_SIGNAL_STATE_REGISTERED
          || wzp_signal_client_get_state (c.sc) !=
          WZP_SIGNAL_STATE_REGISTERED) && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 10);
  json_object_set_string_member (offer, "fault", "offer");
  g_free (wzp_signal_client_place_call (a.sc,
          wzp_identity_get_fingerprint (c.id), NULL, offer, NULL));
  while (!(a.setup && c.setup) && g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 10);
  memset (payload, 0x5a, sizeof payload);
  end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (a.setup && c.setup && g_get_monotonic_time () < end) {
    if (wzp_signal_client_send_media (a.sc, a.channel, payload, sizeof payload))
      a.sent++;
    if (wzp_signal_client_send_media (c.sc, c.channel, payload, sizeof payload))
      c.sent++;
    wzp_test_run_for (ctx, 20);
  }
  wzp_test_run_for (ctx, 200);
  json_builder_begin_object (b);
  MEMBER ("setup", a.setup && c.setup);
  MEMBER ("sent_a", a.sent);
  MEMBER ("received_a", a.received);
  MEMBER ("sent_b", c.sent);
  MEMBER ("received_b", c.received);
  MEMBER ("ended", a.ended + c.ended);
  json_builder_set_member_name (b, "channel_a");
  json_builder_add_string_value (b, party_channel (&a));
  json_builder_set_member_name (b, "channel_b");
  json_builder_add_string_value (b, party_channel (&c));
  json_builder_end_object (b);
  print_json (b);
  for (CallParty * p = &a; p; p = p == &a ? &c : NULL) {
    wzp_signal_client_stop (p->sc);
    g_object_unref (p->sc);
    g_object_unref (p->ep);
    g_object_unref (p->id);
  }
  return 0;
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*func) (int argc, char **argv);
  } cmds[] = {
    {"flood", cmd_flood},
    {"register", cmd_register},
    {"idle", cmd_idle},
    {"register-many", cmd_register_many},
    {"probes", cmd_probes},
    {"messages", cmd_messages},
    {"media-flood", cmd_media_flood},
    {"call", cmd_call},
  };

  ctx = g_main_context_default ();
  for (guint i = 0; argc > 1 && i < G_N_ELEMENTS (cmds); i++)
    if (strcmp (argv[1], cmds[i].name) == 0)
      return cmds[i].func (argc - 1, argv + 1);
  g_printerr ("usage: wzp-fault flood|register|idle|register-many|probes|"
      "messages|media-flood|call --relay ADDR:PORT ...\n");
  return 2;
}
