/* wzp — where traffic comes from, for per-source limits
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void
wzp_source_from_addr (WzpSource * source, const WzpAddr * addr)
{
  memset (source, 0, sizeof *source);
  if (addr->storage.ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)
        &addr->storage;

    source->family = AF_INET;
    memcpy (source->prefix, &sin->sin_addr, 4);
  } else if (addr->storage.ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)
        &addr->storage;

    if (IN6_IS_ADDR_V4MAPPED (&sin6->sin6_addr)) {
      source->family = AF_INET;
      memcpy (source->prefix, sin6->sin6_addr.s6_addr + 12, 4);
    } else {
      source->family = AF_INET6;
      memcpy (source->prefix, sin6->sin6_addr.s6_addr, 8);
    }
  }
}

char *
wzp_source_to_string (const WzpSource * source, char buf[WZP_SOURCE_STRLEN])
{
  char text[INET6_ADDRSTRLEN];

  if (source->family == AF_INET) {
    inet_ntop (AF_INET, source->prefix, text, sizeof text);
    g_strlcpy (buf, text, WZP_SOURCE_STRLEN);
  } else if (source->family == AF_INET6) {
    guint8 full[16] = { 0 };

    memcpy (full, source->prefix, 8);
    inet_ntop (AF_INET6, full, text, sizeof text);
    g_snprintf (buf, WZP_SOURCE_STRLEN, "%s/64", text);
  } else {
    g_strlcpy (buf, "?", WZP_SOURCE_STRLEN);
  }
  return buf;
}

gboolean
wzp_source_equal (const WzpSource * a, const WzpSource * b)
{
  return memcmp (a, b, sizeof *a) == 0;
}

struct _WzpSourceCounter
{
  GHashTable *counts;           /* &Entry.source -> Entry (owned) */
};

typedef struct
{
  WzpSource source;
  guint count;
} Entry;

static guint
source_hash (gconstpointer key)
{
  const guint8 *b = key;
  guint h = 2166136261u;

  /* FNV-1a over family and prefix (WzpSource has no padding). */
  for (guint i = 0; i < sizeof (WzpSource); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
source_equal (gconstpointer a, gconstpointer b)
{
  return wzp_source_equal (a, b);
}

WzpSourceCounter *
wzp_source_counter_new (void)
{
  WzpSourceCounter *self = g_new0 (WzpSourceCounter, 1);

  G_STATIC_ASSERT (sizeof (WzpSource) == 9);
  self->counts = g_hash_table_new_full (source_hash, source_equal, NULL,
      g_free);
  return self;
}

void
wzp_source_counter_free (WzpSourceCounter * self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->counts);
  g_free (self);
}

guint
wzp_source_counter_get (WzpSourceCounter * self, const WzpSource * source)
{
  Entry *e = g_hash_table_lookup (self->counts, source);

  return e ? e->count : 0;
}

/* Returns the new count. */
guint
wzp_source_counter_add (WzpSourceCounter * self, const WzpSource * source)
{
  Entry *e = g_hash_table_lookup (self->counts, source);

  if (e == NULL) {
    e = g_new0 (Entry, 1);
    e->source = *source;
    g_hash_table_insert (self->counts, &e->source, e);
  }
  return ++e->count;
}

/* Takes one away; a source whose count reaches 0 is forgotten. */
void
wzp_source_counter_remove (WzpSourceCounter * self, const WzpSource * source)
{
  Entry *e = g_hash_table_lookup (self->counts, source);

  g_return_if_fail (e != NULL);
  if (--e->count == 0)
    g_hash_table_remove (self->counts, source);
}

guint
wzp_source_counter_get_n_sources (WzpSourceCounter * self)
{
  return g_hash_table_size (self->counts);
}

void
wzp_source_counter_clear (WzpSourceCounter * self)
{
  g_hash_table_remove_all (self->counts);
}
