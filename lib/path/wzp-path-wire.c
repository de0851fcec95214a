/* wzp — the path manager's wire formats (see wzp-path-wire.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-wire.h"

#include <string.h>

#include "wzp-bytes.h"

gboolean
_wzp_path_token_equal (const guint8 * a, const guint8 * b)
{
  guint8 diff = 0;

  /* Constant time: the token is a shared secret. */
  for (guint i = 0; i < WZP_PATH_TOKEN_LEN; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

void
_wzp_path_wire_punch (guint8 out[WZP_PATH_PUNCH_LEN], const guint8 * token)
{
  out[0] = WZP_PATH_PUNCH;
  memcpy (out + 1, token, WZP_PATH_TOKEN_LEN);
}

gboolean
_wzp_path_wire_is_punch (const guint8 * data, gsize len, const guint8 * token)
{
  return len == WZP_PATH_PUNCH_LEN && data[0] == WZP_PATH_PUNCH
      && _wzp_path_token_equal (data + 1, token);
}

void
_wzp_path_wire_msg (guint8 out[WZP_PATH_MSG_LEN], guint8 type, guint32 epoch,
    const guint8 * token)
{
  out[0] = type;
  wzp_put_u32 (out + 1, epoch);
  memcpy (out + 5, token, WZP_PATH_TOKEN_LEN);
}

/* FALSE for anything that is not a path message of this call (wrong
 * length or token); @type is not checked. */
gboolean
_wzp_path_wire_parse_msg (const guint8 * data, gsize len,
    const guint8 * token, guint8 * type, guint32 * epoch)
{
  if (len != WZP_PATH_MSG_LEN || !_wzp_path_token_equal (data + 5, token))
    return FALSE;
  *type = data[0];
  *epoch = wzp_get_u32 (data + 1);
  return TRUE;
}

void
_wzp_path_wire_probe (guint8 out[WZP_PATH_PROBE_LEN], guint8 type,
    guint32 seq, guint64 send_time)
{
  out[0] = type;
  wzp_put_u32 (out + 1, seq);
  wzp_put_u64 (out + 5, send_time);
}

gboolean
_wzp_path_wire_parse_probe (const guint8 * data, gsize len, guint32 * seq,
    guint64 * send_time)
{
  if (len != WZP_PATH_PROBE_LEN)
    return FALSE;
  *seq = wzp_get_u32 (data + 1);
  *send_time = wzp_get_u64 (data + 5);
  return TRUE;
}
