/* wzp-relay — its options: one table for the command line and the config
 * file, so every option is both a flag (--NAME) and a key (NAME in its
 * section), validated the same way
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-relay.h"

G_BEGIN_DECLS

/* Exit codes of wzp-relay (docs/RELAY.md). */
#define WZP_RELAY_EXIT_OK 0
#define WZP_RELAY_EXIT_FAILED 1         /* could not start or run */
#define WZP_RELAY_EXIT_USAGE 2          /* bad command line or config file */

typedef struct _WzpRelayConfig WzpRelayConfig;

WzpRelayConfig *wzp_relay_config_new (void);
void wzp_relay_config_free (WzpRelayConfig * config);

/* Parses the command line and then the --config file, if any; the
 * command line wins.  Errors name the flag, or the file, line and key. */
gboolean wzp_relay_config_load (WzpRelayConfig * config, int *argc,
    char ***argv, GError ** error);

/* Daemon options (not relay properties); NULL when not given. */
const char *wzp_relay_config_get (WzpRelayConfig * config, const char *name);
gboolean wzp_relay_config_get_flag (WzpRelayConfig * config,
    const char *name);

/* Sets every relay property that was given. */
void wzp_relay_config_apply (WzpRelayConfig * config, WzpRelay * relay);

/* "name = value" for every option, in config-file form with sections, as
 * it will run (defaults included). */
char *wzp_relay_config_dump (WzpRelayConfig * config, WzpRelay * relay);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpRelayConfig, wzp_relay_config_free)

G_END_DECLS
