/* wzp — relay media channels: the channel packet and the "media" object
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-channel.h"
#include "wzp-message.h"

#include <string.h>

/**
 * wzp_channel_packet_parse:
 *
 * Reads a channel packet's header (and a BIND's flags and nonce).  Says
 * nothing about whether the channel exists or the token is right.
 *
 * Returns: %FALSE for anything that is not a well-formed channel packet:
 * an unknown type, a short header, a MEDIA packet without payload or
 * longer than %WZP_CHANNEL_MAX_LEN, a BIND or BIND-ACK of another length
 */
gboolean
wzp_channel_packet_parse (const guint8 * data, gsize len, WzpChannelPacket * p)
{
  guint32 be;

  if (len < WZP_CHANNEL_HEADER_LEN)
    return FALSE;
  p->type = data[0];
  memcpy (&be, data + 1, sizeof be);
  p->channel = GUINT32_FROM_BE (be);
  memcpy (p->token, data + 5, WZP_CHANNEL_TOKEN_LEN);
  p->payload = NULL;
  p->payload_len = 0;
  p->flags = 0;
  p->nonce = 0;
  switch (p->type) {
    case WZP_CHANNEL_MEDIA:
      if (len == WZP_CHANNEL_HEADER_LEN || len > WZP_CHANNEL_MAX_LEN)
        return FALSE;
      p->payload = data + WZP_CHANNEL_HEADER_LEN;
      p->payload_len = len - WZP_CHANNEL_HEADER_LEN;
      return TRUE;
    case WZP_CHANNEL_BIND:
    case WZP_CHANNEL_BIND_ACK:
      if (len != WZP_CHANNEL_BIND_LEN)
        return FALSE;
      p->flags = data[WZP_CHANNEL_HEADER_LEN];
      memcpy (&be, data + WZP_CHANNEL_HEADER_LEN + 1, sizeof be);
      p->nonce = GUINT32_FROM_BE (be);
      return TRUE;
    default:
      return FALSE;
  }
}

void
wzp_channel_write_header (guint8 out[WZP_CHANNEL_HEADER_LEN], guint8 type,
    guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN])
{
  guint32 be = GUINT32_TO_BE (channel);

  out[0] = type;
  memcpy (out + 1, &be, sizeof be);
  memcpy (out + 5, token, WZP_CHANNEL_TOKEN_LEN);
}

gsize
wzp_channel_write_bind (guint8 out[WZP_CHANNEL_BIND_LEN], guint8 type,
    guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN], guint8 flags,
    guint32 nonce)
{
  guint32 be = GUINT32_TO_BE (nonce);

  wzp_channel_write_header (out, type, channel, token);
  out[WZP_CHANNEL_HEADER_LEN] = flags;
  memcpy (out + WZP_CHANNEL_HEADER_LEN + 1, &be, sizeof be);
  return WZP_CHANNEL_BIND_LEN;
}

/**
 * wzp_message_set_channel:
 * @address: the relay's media address as clients should use it
 *
 * Adds the "media" object to a call-setup or call-resumed message.
 */
void
wzp_message_set_channel (JsonObject * msg, const char *address,
    guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN])
{
  JsonObject *media = json_object_new ();
  g_autofree char *b64 = g_base64_encode (token, WZP_CHANNEL_TOKEN_LEN);

  json_object_set_string_member (media, "addr", address);
  json_object_set_int_member (media, "channel", channel);
  json_object_set_string_member (media, "token", b64);
  json_object_set_object_member (msg, "media", media);
}

/**
 * wzp_message_new_channel_rebind:
 *
 * Returns: (transfer full): "channel-rebind": the client asks the relay
 * to bind @channel again to whatever source its next channel packet comes
 * from (its NAT mapping changed, or the channel's packets stopped getting
 * through)
 */
JsonObject *
wzp_message_new_channel_rebind (guint32 channel)
{
  JsonObject *m = wzp_message_new (WZP_MSG_CHANNEL_REBIND);

  json_object_set_int_member (m, "channel", channel);
  return m;
}

static gboolean
bad_media (JsonObject * msg, const char *what, GError ** error)
{
  g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
      "%s: field 'media' %s", wzp_message_type_to_string
      (wzp_message_get_msg_type (msg)), what);
  return FALSE;
}

/**
 * wzp_message_get_channel:
 * @present: (out): whether the message has a "media" object
 *
 * Reads the "media" object of call-setup or call-resumed: a relay
 * without a media port, or from before it, sends none (the call's media
 * then rides QUIC datagrams only).
 *
 * Returns: %FALSE (with @error) when the object is there but invalid
 */
gboolean
wzp_message_get_channel (JsonObject * msg, WzpChannelInfo * info,
    gboolean * present, GError ** error)
{
  JsonNode *node = json_object_get_member (msg, "media");
  JsonObject *media;
  JsonNode *addr, *channel, *token;
  g_autofree guint8 *raw = NULL;
  gsize raw_len = 0;
  const char *text;
  gint64 id;

  memset (info, 0, sizeof *info);
  *present = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad_media (msg, "is not an object", error);
  media = json_node_get_object (node);
  addr = json_object_get_member (media, "addr");
  channel = json_object_get_member (media, "channel");
  token = json_object_get_member (media, "token");
  if (addr == NULL || !JSON_NODE_HOLDS_VALUE (addr) ||
      json_node_get_value_type (addr) != G_TYPE_STRING ||
      strlen (json_node_get_string (addr)) >= WZP_ADDR_STRLEN ||
      !wzp_addr_parse (&info->address, json_node_get_string (addr), NULL))
    return bad_media (msg, "has no valid 'addr' (ip:port)", error);
  if (channel == NULL || !JSON_NODE_HOLDS_VALUE (channel) ||
      json_node_get_value_type (channel) != G_TYPE_INT64 ||
      (id = json_node_get_int (channel)) <= 0 || id > G_MAXUINT32)
    return bad_media (msg, "has no valid 'channel' (1..2^32-1)", error);
  info->channel = (guint32) id;
  if (token == NULL || !JSON_NODE_HOLDS_VALUE (token) ||
      json_node_get_value_type (token) != G_TYPE_STRING)
    return bad_media (msg, "has no 'token'", error);
  text = json_node_get_string (token);
  /* Base64 of exactly 8 bytes is 12 characters (one '=' of padding). */
  if (strlen (text) != 12)
    return bad_media (msg, "has a 'token' that is not 8 bytes of base64",
        error);
  raw = g_base64_decode (text, &raw_len);
  if (raw_len != WZP_CHANNEL_TOKEN_LEN)
    return bad_media (msg, "has a 'token' that is not 8 bytes of base64",
        error);
  {
    /* Only the canonical encoding (the same check as the codec's). */
    g_autofree char *again = g_base64_encode (raw, raw_len);
    if (strcmp (again, text) != 0)
      return bad_media (msg, "has a 'token' that is not canonical base64",
          error);
  }
  memcpy (info->token, raw, WZP_CHANNEL_TOKEN_LEN);
  *present = TRUE;
  return TRUE;
}
