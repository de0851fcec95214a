/* wzp — the client side of signaling: the relay media channels of its
 * calls
 *
 * call-setup and call-resumed may carry a "media" object: the call's
 * channel on the relay's media port (wzp-channel.h).  For each call that
 * has one the client runs a WzpRelayChannel, which decides whether media
 * goes on the channel or on the signaling connection, and registers the
 * relay's media address with the endpoint: every packet from that address
 * is a channel packet (docs/PROTOCOL.md, Part A §7).  Media arriving on a
 * channel goes to the media handler exactly like a QUIC media datagram,
 * with the call's channel number.
 *
 * In a cluster (docs/CLUSTER.md) the call may be hosted by another relay
 * node than the one we are registered at: its call-setup then names that
 * node ("media_relay") and its "media" object is that node's.  The
 * registration only records such a channel; the call's media leg (a
 * client with "media-leg" set, connected to that node) runs it
 * (wzp_signal_client_take_channel()): it is where the channel's QUIC
 * fallback and its channel-rebind must go.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-signal-client-private.h"
#include "wzp-relay-channel.h"
#include "wzp-log-private.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define WZP_CAT_DEFAULT wzp_cat_signal

typedef struct
{
  char *call_id;
  guint32 call_channel;
  WzpChannelInfo info;
  WzpRelayChannel *ch;          /* NULL: the client does not use channels */
} ChannelRecord;

typedef struct
{
  WzpAddr address;
  guint handler;
  guint users;
} MediaSource;

static void
record_free (gpointer p)
{
  ChannelRecord *r = p;

  g_free (r->call_id);
  _wzp_relay_channel_free (r->ch);
  memset (&r->info, 0, sizeof r->info);
  g_free (r);
}

void
_wzp_signal_client_channels_init (WzpSignalClient * self,
    WzpChannelRebindFunc rebind)
{
  self->rebind_func = rebind;
  self->channels = g_ptr_array_new_with_free_func (record_free);
  self->media_sources = g_array_new (FALSE, FALSE, sizeof (MediaSource));
  self->use_channels = TRUE;
}

static void source_release (WzpSignalClient * self, const WzpAddr * address);

/* Ends every channel (stop, dispose). */
void
_wzp_signal_client_channels_clear (WzpSignalClient * self)
{
  while (self->channels && self->channels->len > 0) {
    ChannelRecord *r = g_ptr_array_index (self->channels,
        self->channels->len - 1);
    if (r->ch)
      source_release (self, &r->info.address);
    g_ptr_array_remove_index (self->channels, self->channels->len - 1);
  }
}

void
_wzp_signal_client_channels_free (WzpSignalClient * self)
{
  _wzp_signal_client_channels_clear (self);
  g_clear_pointer (&self->channels, g_ptr_array_unref);
  g_clear_pointer (&self->media_sources, g_array_unref);
}

static ChannelRecord *
find_by_call (WzpSignalClient * self, const char *call_id)
{
  for (guint i = 0; i < self->channels->len; i++) {
    ChannelRecord *r = g_ptr_array_index (self->channels, i);
    if (g_strcmp0 (r->call_id, call_id) == 0)
      return r;
  }
  return NULL;
}

static ChannelRecord *
find_by_call_channel (WzpSignalClient * self, guint32 call_channel)
{
  for (guint i = 0; i < self->channels->len; i++) {
    ChannelRecord *r = g_ptr_array_index (self->channels, i);
    if (r->call_channel == call_channel)
      return r;
  }
  return NULL;
}

/* --- packets from the relay's media port ------------------------------- */

static void
on_channel_packet (WzpEndpoint * ep, const WzpAddr * from,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpSignalClient *self = user_data;
  WzpChannelPacket p;
  const guint8 *payload;
  gsize payload_len;

  if (!wzp_channel_packet_parse (data, len, &p)) {
    WZP_LOG_OBJECT (self, "dropped a %" G_GSIZE_FORMAT " byte packet from the "
        "relay's media port: not a channel packet", len);
    return;
  }
  for (guint i = 0; i < self->channels->len; i++) {
    ChannelRecord *r = g_ptr_array_index (self->channels, i);

    if (r->ch == NULL || r->info.channel != p.channel ||
        !wzp_addr_equal (&r->info.address, from))
      continue;
    payload = _wzp_relay_channel_receive (r->ch, &p, &payload_len);
    if (payload && self->media_func)
      self->media_func (self, r->call_channel, payload, payload_len,
          self->media_data);
    return;
  }
  WZP_LOG_OBJECT (self, "dropped a channel packet for channel %u: not ours",
      p.channel);
}

/* One endpoint handler per relay media address, shared by the channels
 * that use it. */
static void
source_use (WzpSignalClient * self, const WzpAddr * address)
{
  MediaSource s = { 0 };

  for (guint i = 0; i < self->media_sources->len; i++) {
    MediaSource *m = &g_array_index (self->media_sources, MediaSource, i);
    if (wzp_addr_equal (&m->address, address)) {
      m->users++;
      return;
    }
  }
  s.address = *address;
  s.users = 1;
  s.handler = wzp_endpoint_add_source_handler (self->endpoint, address,
      on_channel_packet, self, NULL);
  g_array_append_val (self->media_sources, s);
}

static void
source_release (WzpSignalClient * self, const WzpAddr * address)
{
  for (guint i = 0; i < self->media_sources->len; i++) {
    MediaSource *m = &g_array_index (self->media_sources, MediaSource, i);
    if (!wzp_addr_equal (&m->address, address))
      continue;
    if (--m->users == 0) {
      wzp_endpoint_remove_source_handler (self->endpoint, m->handler);
      g_array_remove_index (self->media_sources, i);
    }
    return;
  }
}

/* --- channels of calls ------------------------------------------------- */

static void
on_rebind (WzpRelayChannel * ch, guint32 channel, gpointer user_data)
{
  WzpSignalClient *self = user_data;

  self->rebind_func (self, channel);
}

/* A host of 0.0.0.0 or :: is the relay's own host. */
static void
resolve_host (WzpSignalClient * self, WzpAddr * address)
{
  WzpAddr relay;
  guint16 port = wzp_addr_port (address);
  gboolean any = FALSE;

  if (address->storage.ss_family == AF_INET)
    any = ((struct sockaddr_in *) &address->storage)->sin_addr.s_addr ==
        htonl (INADDR_ANY);
  else if (address->storage.ss_family == AF_INET6)
    any = IN6_IS_ADDR_UNSPECIFIED (&((struct sockaddr_in6 *)
            &address->storage)->sin6_addr);
  if (!any || !wzp_addr_from_gsocketaddress (&relay, self->relay))
    return;
  *address = relay;
  wzp_addr_set_port (address, port);
}

/* Records @info (taken) as @call_id's channel; runs it unless @elsewhere
 * (a media leg runs it) or the client does not use channels. */
static void
channel_start (WzpSignalClient * self, const char *call_id,
    guint32 call_channel, WzpChannelInfo * info, gboolean elsewhere)
{
  ChannelRecord *r;
  guint64 rtt = self->relay_rtt;
  char text[WZP_ADDR_STRLEN];

  _wzp_signal_client_channel_end (self, call_id);
  if (!elsewhere)
    resolve_host (self, &info->address);
  r = g_new0 (ChannelRecord, 1);
  r->call_id = g_strdup (call_id);
  r->call_channel = call_channel;
  r->info = *info;
  memset (info, 0, sizeof *info);
  g_ptr_array_add (self->channels, r);
  WZP_DEBUG_OBJECT (self, "call %s: relay channel %u at %s%s", call_id,
      r->info.channel, wzp_addr_to_string (&r->info.address, text),
      elsewhere ? " (another relay node's: its media leg runs it)" :
      self->use_channels ? "" : " (not used: relay-channels is off)");
  if (elsewhere || !self->use_channels)
    return;
  if (self->conn) {
    WzpConnectionStats cs;
    wzp_connection_get_stats (self->conn, &cs);
    if (cs.rtt_ns)
      rtt = cs.rtt_ns;
  }
  source_use (self, &r->info.address);
  r->ch = _wzp_relay_channel_new (self->endpoint, &r->info, call_channel, rtt,
      on_rebind, self);
}

/**
 * _wzp_signal_client_channel_set:
 * @msg: the call-setup or call-resumed that set the call up on
 *   @call_channel, with or without a "media" object (and "media_relay":
 *   the channel is another relay node's)
 *
 * The call @call_id has (a new) relay channel, or none any more.
 */
void
_wzp_signal_client_channel_set (WzpSignalClient * self, const char *call_id,
    guint32 call_channel, JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  WzpChannelInfo info;
  gboolean present;
  JsonNode *elsewhere = json_object_get_member (msg, "media_relay");

  _wzp_signal_client_channel_end (self, call_id);
  if (!wzp_message_get_channel (msg, &info, &present, &error)) {
    WZP_WARNING_OBJECT (self, "ignoring the relay's media channel for call "
        "%s: %s", call_id, error->message);
    return;
  }
  if (!present)
    return;
  channel_start (self, call_id, call_channel, &info, elsewhere &&
      !JSON_NODE_HOLDS_NULL (elsewhere));
}

/**
 * wzp_signal_client_take_channel:
 * @self: a media leg (#WzpSignalClient:media-leg), to the relay node
 *   hosting the call
 * @info: the channel, as wzp_signal_client_get_channel() gives it on the
 *   client that got the call's setup
 *
 * Runs the relay media channel of call @call_id here: its channel packets
 * go to (and come from) the media port of the node this client is
 * connected to, its fallback is this connection's QUIC datagrams, and a
 * channel that stops answering is re-bound through this connection.
 */
void
wzp_signal_client_take_channel (WzpSignalClient * self, const char *call_id,
    guint32 call_channel, const WzpChannelInfo * info)
{
  WzpChannelInfo copy = *info;

  g_return_if_fail (WZP_IS_SIGNAL_CLIENT (self));
  channel_start (self, call_id, call_channel, &copy, FALSE);
}

/* The call @call_id ended: so did its channel. */
void
_wzp_signal_client_channel_end (WzpSignalClient * self, const char *call_id)
{
  ChannelRecord *r = find_by_call (self, call_id);

  if (r == NULL)
    return;
  if (r->ch)
    source_release (self, &r->info.address);
  g_ptr_array_remove (self->channels, r);
}

/* Media for @call_channel: TRUE when it went on the channel and needs
 * nothing more; FALSE: send it on the signaling connection (too). */
gboolean
_wzp_signal_client_channel_send (WzpSignalClient * self, guint32 call_channel,
    const guint8 * data, gsize len, gboolean * sent)
{
  ChannelRecord *r = find_by_call_channel (self, call_channel);
  gboolean also_quic = TRUE;

  *sent = FALSE;
  if (r && r->ch)
    *sent = _wzp_relay_channel_send (r->ch, data, len, &also_quic);
  return !also_quic;
}

/**
 * wzp_signal_client_get_channel:
 * @call_channel: a call's channel, as in #WzpCallSetup
 * @info: (out): the relay media channel the relay gave the call
 *
 * Returns: %TRUE when the relay gave that call a media channel (whether
 * or not the client uses it: #WzpSignalClient:relay-channels)
 */
gboolean
wzp_signal_client_get_channel (WzpSignalClient * self, guint32 call_channel,
    WzpChannelInfo * info)
{
  ChannelRecord *r;

  g_return_val_if_fail (WZP_IS_SIGNAL_CLIENT (self), FALSE);
  r = find_by_call_channel (self, call_channel);
  if (r == NULL)
    return FALSE;
  *info = r->info;
  return TRUE;
}

/**
 * wzp_signal_client_get_channel_stats:
 * @call_channel: a call's channel, as in #WzpCallSetup
 *
 * Where the call's relayed media goes, and what went on the channel.
 * A call without a channel (or a client that does not use them) reads
 * state %WZP_RELAY_CHANNEL_OFF and zeros.
 */
void
wzp_signal_client_get_channel_stats (WzpSignalClient * self,
    guint32 call_channel, WzpRelayChannelStats * stats)
{
  ChannelRecord *r;

  g_return_if_fail (WZP_IS_SIGNAL_CLIENT (self));
  memset (stats, 0, sizeof *stats);
  r = find_by_call_channel (self, call_channel);
  if (r && r->ch)
    _wzp_relay_channel_get_stats (r->ch, stats);
  else
    stats->state = WZP_RELAY_CHANNEL_OFF;
}
