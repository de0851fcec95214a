/* wzp invite — the owner of a room admits a member
 *
 *   wzp invite -i OWNER.key --room NAME --member FINGERPRINT [--valid 24h]
 *
 * prints an invitation token ("wzpinv1.…") on stdout, or writes it to
 * --output FILE (mode 0600); the member passes it as room-invite=TOKEN or
 * room-invite=@FILE.  The room is OWNER's: its id is the owner's
 * fingerprint and NAME, printed on stderr with the expiry.  See
 * docs/PROTOCOL.md ("Rooms").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "wzp-room-invite.h"
#include "wzp-tool.h"

/* "90", "90s", "15m", "12h", "7d" -> seconds; -1 when not a duration. */
static gint64
parse_duration (const char *text)
{
  char *end = NULL;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  guint64 unit = 1;

  if (end == text || n == 0)
    return -1;
  if (*end == 'd')
    unit = 86400;
  else if (*end == 'h')
    unit = 3600;
  else if (*end == 'm')
    unit = 60;
  else if (*end == 's' || *end == '\0')
    unit = 1;
  else
    return -1;
  if (*end && end[1] != '\0')
    return -1;
  if (n > G_MAXINT32 / unit)
    return -1;
  return (gint64) (n * unit);
}

int
wzp_tool_cmd_invite (int argc, char **argv)
{
  g_autofree char *identity_path = NULL;
  g_autofree char *room = NULL;
  g_autofree char *member = NULL;
  g_autofree char *valid = NULL;
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
        "The owner's identity file (the room is this identity's)", "FILE"},
    {"room", 0, 0, G_OPTION_ARG_STRING, &room, "The room's name", "NAME"},
    {"member", 'm', 0, G_OPTION_ARG_STRING, &member,
        "Fingerprint of the member to admit", "FP"},
    {"valid", 0, 0, G_OPTION_ARG_STRING, &valid,
        "How long the invitation admits the member: 90s, 15m, 12h, 7d "
          "(default 24h)", "DURATION"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
        "Write the token to FILE (mode 0600) instead of stdout", "FILE"},
    {NULL}
  };
  g_autoptr (WzpIdentity) owner = NULL;
  g_autoptr (WzpRoomInvite) inv = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) until = NULL;
  g_autofree char *id = NULL;
  g_autofree char *token = NULL;
  g_autofree char *when = NULL;
  gint64 seconds;

  if (!wzp_tool_parse (entries, "- admit a member to a room you own (prints "
          "an invitation token)", &argc, &argv))
    return 2;
  if (identity_path == NULL || room == NULL || member == NULL) {
    g_printerr ("usage: wzp invite -i OWNER.key --room NAME --member FP "
        "[--valid 24h] [-o FILE]\n");
    return 2;
  }
  seconds = parse_duration (valid ? valid : "24h");
  if (seconds < 0) {
    g_printerr ("wzp invite: \"%s\" is not a duration (90s, 15m, 12h, 7d)\n",
        valid);
    return 2;
  }
  if (!(owner = wzp_identity_load (identity_path, &error)))
    return wzp_tool_fail (g_steal_pointer (&error));
  inv = wzp_room_invite_new (owner, room, member,
      g_get_real_time () / G_USEC_PER_SEC + seconds, &error);
  if (inv == NULL)
    return wzp_tool_fail (g_steal_pointer (&error));
  id = wzp_room_id_new (inv->owner, inv->room, NULL);
  token = wzp_room_invite_to_token (inv);
  until = g_date_time_new_from_unix_utc (inv->expires);
  when = g_date_time_format_iso8601 (until);
  if (output) {
    g_autofree char *text = g_strconcat (token, "\n", NULL);
    if (!g_file_set_contents_full (output, text, -1,
            G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
      return wzp_tool_fail (g_steal_pointer (&error));
  } else {
    g_print ("%s\n", token);
  }
  g_printerr ("wzp invite: %s may join room %s until %s\n", inv->member, id,
      when);
  return 0;
}
