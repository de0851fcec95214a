/* wzp — the relay's registration table seen from its helpers: who is
 * registered, how to reach them, error replies (counted by code) and
 * media channel ids
 *
 * The core (wzp-relay.c) changes the table; calls, rooms and probes only
 * read it and send through it.  Nothing here calls into the core or the
 * other helpers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-log-private.h"
#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_relay

void
_wzp_relay_send (WzpRelay * self, RelayClient * client, JsonObject * msg)
{
  g_autoptr (GBytes) bytes = wzp_message_to_bytes (msg);
  g_autoptr (GError) error = NULL;

  WZP_LOG_OBJECT (self, "-> %s: %.*s", client->fp,
      (int) MIN (g_bytes_get_size (bytes), 200),
      (const char *) g_bytes_get_data (bytes, NULL));
  if (!wzp_connection_send_message (client->conn, g_bytes_get_data (bytes,
              NULL), g_bytes_get_size (bytes), &error))
    WZP_DEBUG_OBJECT (self, "cannot send to %s: %s", client->fp,
        error->message);
  json_object_unref (msg);
}

RelayClient *
_wzp_relay_lookup (WzpRelay * self, const char *fp)
{
  return g_hash_table_lookup (self->registrations, fp);
}

/* Sends to the current registration of @fp; consumes @msg. */
gboolean
_wzp_relay_send_to (WzpRelay * self, const char *fp, JsonObject * msg)
{
  RelayClient *c = _wzp_relay_lookup (self, fp);

  if (c == NULL) {
    json_object_unref (msg);
    return FALSE;
  }
  _wzp_relay_send (self, c, msg);
  return TRUE;
}

static void
count_error (WzpRelay * self, const char *code)
{
  guint64 *n = g_hash_table_lookup (self->error_counts, code);

  if (n == NULL) {
    n = g_new0 (guint64, 1);
    g_hash_table_insert (self->error_counts, g_strdup (code), n);
  }
  (*n)++;
  self->stats.errors_total++;
}

/**
 * _wzp_relay_send_error:
 * @request: (nullable): the message this answers (for its "req")
 */
void
_wzp_relay_send_error (WzpRelay * self, RelayClient * client,
    const char *code, const char *message, JsonObject * request)
{
  guint32 req;
  gint64 re = -1;

  if (request && wzp_message_get_req (request, &req))
    re = req;
  count_error (self, code);
  /* A client sending junk earns one error per message (within its
   * message budget): at most a line per second here, the exact counts are
   * in wzp_relay_errors_total. */
  WZP_INFO_LIMITED (self, &self->error_log, wzp_clock_get_time (self->clock),
      "error to %s (%s): %s: %s", client->fp, client->observed, code, message);
  _wzp_relay_send (self, client, wzp_message_new_error (code, message, re));
}

guint64
wzp_relay_get_error_count (WzpRelay * self, const char *code)
{
  guint64 *n = g_hash_table_lookup (self->error_counts, code);

  return n ? *n : 0;
}

guint32
_wzp_relay_allocate_channel (WzpRelay * self, RelayChannel * owner)
{
  guint32 id;

  do {
    id = wzp_random_u32 ();
  } while (id == 0
      || g_hash_table_contains (self->channels, GUINT_TO_POINTER (id)));
  owner->id = id;
  g_hash_table_insert (self->channels, GUINT_TO_POINTER (id), owner);
  return id;
}
