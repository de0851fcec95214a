/* Fuzz target: room ids and owner-signed room invitations
 * (lib/signal/wzp-room-invite.c), which the relay parses from every
 * join-room and each member from every member the relay lists.
 *
 * The first byte picks what the rest is:
 *   0: an invitation token ("wzpinv1." ...), as typed by a user;
 *   1: the JSON object a key blob carries;
 *   2: a room id.
 *
 * Checked: nothing crashes or leaks; an invitation that parses has a
 * verified signature, so its token parses back to the same fields, and it
 * admits its own member to its own room until, and not at, its expiry;
 * a room id that parses composes back to itself.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-room-invite.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  return 0;
}

static void
check_invite (WzpRoomInvite * inv)
{
  char *token = wzp_room_invite_to_token (inv);
  WzpRoomInvite *back = wzp_room_invite_from_token (token, NULL);
  char *id = wzp_room_id_new (inv->owner, inv->room, NULL);

  FUZZ_CHECK (back != NULL);
  FUZZ_CHECK (g_str_equal (back->room, inv->room));
  FUZZ_CHECK (g_str_equal (back->member, inv->member));
  FUZZ_CHECK (g_str_equal (back->owner, inv->owner));
  FUZZ_CHECK (back->expires == inv->expires);
  FUZZ_CHECK (memcmp (back->sig, inv->sig, sizeof inv->sig) == 0);
  FUZZ_CHECK (id != NULL);
  FUZZ_CHECK (wzp_room_invite_check (inv, id, inv->member, inv->expires - 1,
          NULL));
  FUZZ_CHECK (!wzp_room_invite_check (inv, id, inv->member, inv->expires,
          NULL));
  FUZZ_CHECK (!wzp_room_invite_check (inv, inv->room, inv->member,
          inv->expires - 1, NULL));
  wzp_room_invite_free (back);
  g_free (token);
  g_free (id);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  char *text;
  GError *error = NULL;
  WzpRoomInvite *inv = NULL;

  if (size < 1 || size > 4096)
    return 0;
  text = g_strndup ((const char *) data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      inv = wzp_room_invite_from_token (text, &error);
      break;
    case 1:{
      JsonParser *parser = json_parser_new_immutable ();
      JsonNode *root;

      if (json_parser_load_from_data (parser, text, -1, NULL) &&
          (root = json_parser_get_root (parser)) &&
          JSON_NODE_HOLDS_OBJECT (root))
        inv = wzp_room_invite_from_json (json_node_get_object (root), &error);
      g_object_unref (parser);
      break;
    }
    default:{
      char *owner = NULL, *name = NULL;

      if (wzp_room_id_parse (text, &owner, &name, &error)) {
        char *again = wzp_room_id_new (owner, name, NULL);
        FUZZ_CHECK (again != NULL && g_str_equal (again, text));
        g_free (again);
      } else {
        FUZZ_CHECK (owner == NULL && name == NULL);
      }
      g_free (owner);
      g_free (name);
      break;
    }
  }
  FUZZ_CHECK ((inv == NULL) == (error != NULL) || data[0] % 3 == 2 ||
      (data[0] % 3 == 1 && inv == NULL));
  if (inv)
    check_invite (inv);
  wzp_room_invite_free (inv);
  g_clear_error (&error);
  g_free (text);
  return 0;
}
