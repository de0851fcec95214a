/* wzp-path-types.h — which path a call's media takes, and may take
 *
 * Part of libwzp's public API (WzpCall's "path" and "path-policy"); the
 * path manager that decides them is wzp-path.h, which is not.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

/**
 * WzpPathKind:
 * @WZP_PATH_NONE: no path for media (not started, or direct-only policy
 *   without a working direct path)
 * @WZP_PATH_RELAY: media goes through the relay
 * @WZP_PATH_DIRECT: media goes on the direct connection
 */
typedef enum
{
  WZP_PATH_NONE,
  WZP_PATH_RELAY,
  WZP_PATH_DIRECT,
} WzpPathKind;

/**
 * WzpPathPolicy:
 * @WZP_PATH_POLICY_AUTO: relay first, direct when both agree, back to the
 *   relay when direct goes quiet
 * @WZP_PATH_POLICY_DIRECT_ONLY: no media until a direct path exists; no
 *   relay fallback
 * @WZP_PATH_POLICY_RELAY_ONLY: never try a direct path
 */
typedef enum
{
  WZP_PATH_POLICY_AUTO,
  WZP_PATH_POLICY_DIRECT_ONLY,
  WZP_PATH_POLICY_RELAY_ONLY,
} WzpPathPolicy;

#define WZP_TYPE_PATH_KIND (wzp_path_kind_get_type ())
WZP_API GType wzp_path_kind_get_type (void);
#define WZP_TYPE_PATH_POLICY (wzp_path_policy_get_type ())
WZP_API GType wzp_path_policy_get_type (void);

WZP_API const char *wzp_path_kind_to_string (WzpPathKind path);
WZP_API const char *wzp_path_policy_to_string (WzpPathPolicy policy);
WZP_API gboolean wzp_path_policy_from_string (const char *text,
    WzpPathPolicy * policy);

G_END_DECLS
