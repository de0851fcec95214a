/* wzp-tool.h — helpers shared by the wzp command's subcommands */
#pragma once

#include <glib.h>
#include "wzp-identity-private.h"

G_BEGIN_DECLS

int wzp_tool_fail (GError * error);
gboolean wzp_tool_parse (GOptionEntry * entries, const char *usage,
    int *argc, char ***argv);
WzpIdentity *wzp_tool_load_identity (const char *path, GError ** error);

int wzp_tool_cmd_call (int argc, char **argv);
int wzp_tool_cmd_invite (int argc, char **argv);

G_END_DECLS
