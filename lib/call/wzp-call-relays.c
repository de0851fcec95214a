/* wzp-call-relays.c — the relays a call may use: parse, resolve, order */
#include "config.h"

#include "wzp-call-relays.h"
#include "wzp-address.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* A list longer than this is a mistake, not a cluster. */
#define MAX_ENTRIES 16

static void
entry_free (gpointer p)
{
  WzpRelayEntry *e = p;

  g_free (e->host);
  g_clear_object (&e->numeric);
  g_free (e);
}

/* One HOST:PORT, by libwzp's one parser (wzp_host_port_parse()). */
static WzpRelayEntry *
parse_entry (const char *text, GError ** error)
{
  g_autofree char *t = g_strstrip (g_strdup (text));
  g_autofree char *host = NULL;
  guint16 port = 0;
  WzpRelayEntry *e;

  if (!wzp_host_port_parse (t, &host, &port, NULL) || port == 0) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "\"%s\" is not a relay address (expected HOST:PORT; an IPv6 "
        "address goes in brackets: [2001:db8::1]:4433)", t);
    return NULL;
  }
  e = g_new0 (WzpRelayEntry, 1);
  e->port = port;
  {
    g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
    if (ip)
      e->numeric = g_inet_socket_address_new (ip, e->port);
  }
  e->host = g_steal_pointer (&host);
  return e;
}

GPtrArray *
_wzp_relay_list_parse (const char *text, GError ** error)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_auto (GStrv) parts = NULL;

  if (text == NULL || *text == '\0') {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "no relay address (expected HOST:PORT, or several separated by "
        "commas)");
    return NULL;
  }
  parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++) {
    WzpRelayEntry *e = parse_entry (parts[i], error);

    if (e == NULL)
      return NULL;
    if (entries->len == MAX_ENTRIES) {
      entry_free (e);
      g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
          "more than %d relays in \"%s\"", MAX_ENTRIES, text);
      return NULL;
    }
    g_ptr_array_add (entries, e);
  }
  return g_steal_pointer (&entries);
}

/**
 * wzp_relay_list_check:
 * @relay: a relay setting: HOST:PORT, or several separated by commas
 *
 * Checks the syntax of a relay setting without resolving anything.
 *
 * Returns: %TRUE if it is one, else %FALSE with a WZP_CALL_ERROR
 */
gboolean
wzp_relay_list_check (const char *relay, GError ** error)
{
  g_autoptr (GPtrArray) entries = _wzp_relay_list_parse (relay, error);

  return entries != NULL;
}

/* --- resolving -------------------------------------------------------- */

GPtrArray *
_wzp_relay_list_numeric (GPtrArray * entries)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < entries->len; i++) {
    WzpRelayEntry *e = g_ptr_array_index (entries, i);
    if (e->numeric == NULL) {
      g_ptr_array_unref (a);
      return NULL;
    }
    g_ptr_array_add (a, g_object_ref (e->numeric));
  }
  return a;
}

typedef struct
{
  GPtrArray *entries;           /* of WzpRelayEntry */
  GPtrArray **found;            /* per entry: addresses */
  guint pending;
  GError *first_error;
  WzpRelayListReady ready;
  gpointer user_data;
} Resolve;

typedef struct
{
  Resolve *r;
  guint index;
} Lookup;

static void
finish (Resolve * r)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < r->entries->len; i++)
    for (guint j = 0; r->found[i] && j < r->found[i]->len; j++) {
      GSocketAddress *a = g_ptr_array_index (r->found[i], j);
      WzpAddr x, y;
      gboolean dup = FALSE;

      wzp_addr_from_gsocketaddress (&x, a);
      for (guint k = 0; k < all->len && !dup; k++) {
        wzp_addr_from_gsocketaddress (&y, g_ptr_array_index (all, k));
        dup = wzp_addr_equal (&x, &y);
      }
      if (!dup)
        g_ptr_array_add (all, g_object_ref (a));
    }
  if (all->len)
    r->ready (all, NULL, r->user_data);
  else
    r->ready (NULL, r->first_error, r->user_data);
  for (guint i = 0; i < r->entries->len; i++)
    g_clear_pointer (&r->found[i], g_ptr_array_unref);
  g_free (r->found);
  g_ptr_array_unref (r->entries);
  g_clear_error (&r->first_error);
  g_free (r);
}

static void
on_resolved (GObject * source, GAsyncResult * result, gpointer data)
{
  Lookup *l = data;
  Resolve *r = l->r;
  WzpRelayEntry *e = g_ptr_array_index (r->entries, l->index);
  g_autoptr (GError) error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source),
      result, &error);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  /* Each address of a name is a relay; IPv4 first (every endpoint has an
   * IPv4 socket, not every one an IPv6 one). */
  for (int pass = 0; pass < 2; pass++)
    for (GList * a = addrs; a; a = a->next)
      if ((g_inet_address_get_family (a->data) == G_SOCKET_FAMILY_IPV4) ==
          (pass == 0))
        g_ptr_array_add (found, g_inet_socket_address_new (a->data, e->port));
  g_resolver_free_addresses (addrs);
  if (error && r->first_error == NULL)
    r->first_error = g_error_new (WZP_CALL_ERROR,
        WZP_CALL_ERROR_RELAY_UNREACHABLE, "cannot resolve the relay host "
        "\"%s\": %s", e->host, error->message);
  WZP_DEBUG ("relay host %s: %u addresses", e->host, found->len);
  r->found[l->index] = found;
  g_free (l);
  if (--r->pending == 0)
    finish (r);
}

static gboolean
finish_idle (gpointer data)
{
  finish (data);
  return G_SOURCE_REMOVE;
}

void
_wzp_relay_list_resolve (GPtrArray * entries, GMainContext * context,
    GCancellable * cancellable, WzpRelayListReady ready, gpointer user_data)
{
  Resolve *r = g_new0 (Resolve, 1);
  g_autoptr (GResolver) resolver = NULL;

  r->entries = g_ptr_array_ref (entries);
  r->found = g_new0 (GPtrArray *, entries->len);
  r->ready = ready;
  r->user_data = user_data;
  for (guint i = 0; i < entries->len; i++) {
    WzpRelayEntry *e = g_ptr_array_index (entries, i);
    if (e->numeric) {
      r->found[i] = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (r->found[i], g_object_ref (e->numeric));
    } else {
      r->pending++;
    }
  }
  if (r->pending == 0) {
    GSource *s = g_idle_source_new ();

    g_source_set_callback (s, finish_idle, r, NULL);
    g_source_attach (s, context);
    g_source_unref (s);
    return;
  }
  resolver = g_resolver_get_default ();
  g_main_context_push_thread_default (context);
  for (guint i = 0; i < entries->len; i++) {
    WzpRelayEntry *e = g_ptr_array_index (entries, i);
    Lookup *l;

    if (e->numeric)
      continue;
    l = g_new0 (Lookup, 1);
    l->r = r;
    l->index = i;
    g_resolver_lookup_by_name_async (resolver, e->host, cancellable,
        on_resolved, l);
  }
  g_main_context_pop_thread_default (context);
}

/* --- ordering --------------------------------------------------------- */

typedef struct
{
  guint64 score;
  GSocketAddress *addr;
} Scored;

static gint
by_score (gconstpointer a, gconstpointer b)
{
  const Scored *x = a, *y = b;

  return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

/* SHA-256 of "FINGERPRINT\0IP:PORT", its first 8 bytes big-endian: the
 * highest score comes first (docs/CLUSTER.md gives it, so tools and tests
 * can predict it). */
static guint64
score (const char *fingerprint, GSocketAddress * addr)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *text = wzp_socket_address_to_string (addr);
  guint8 digest[32];
  gsize len = sizeof digest;
  guint64 v = 0;

  g_checksum_update (sum, (const guint8 *) fingerprint,
      strlen (fingerprint) + 1);
  g_checksum_update (sum, (const guint8 *) text, strlen (text));
  g_checksum_get_digest (sum, digest, &len);
  for (guint i = 0; i < 8; i++)
    v = (v << 8) | digest[i];
  return v;
}

void
_wzp_relay_list_order (GPtrArray * addresses, const char *fingerprint,
    WzpRelaySelection selection)
{
  g_autoptr (GArray) scored = NULL;

  if (selection == WZP_RELAY_SELECTION_LISTED || addresses->len < 2)
    return;
  scored = g_array_sized_new (FALSE, FALSE, sizeof (Scored), addresses->len);
  for (guint i = 0; i < addresses->len; i++) {
    Scored s = { score (fingerprint, g_ptr_array_index (addresses, i)),
      g_ptr_array_index (addresses, i)
    };
    g_array_append_val (scored, s);
  }
  g_array_sort (scored, by_score);
  for (guint i = 0; i < addresses->len; i++)
    addresses->pdata[i] = g_array_index (scored, Scored, i).addr;
}
