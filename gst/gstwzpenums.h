/* gstwzpenums.h — enum types of the wzp elements' properties
 *
 * The values equal libwzp's (WzpAnswerPolicy, WzpPathPolicy, WzpPathKind)
 * so a cast converts them; the nicks are what gst-launch and URIs use.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstWzpAnswer:
 * @GST_WZP_ANSWER_AUTO: accept every incoming call
 * @GST_WZP_ANSWER_REJECT: reject every incoming call
 * @GST_WZP_ANSWER_ASK: tell the application (#GstWzpSrc::incoming-call, or
 *   the sink's, and a `wzp-incoming-call` message) and let the call ring
 *   until it emits the "answer" or "reject" action signal
 */
typedef enum
{
  GST_WZP_ANSWER_AUTO,
  GST_WZP_ANSWER_REJECT,
  GST_WZP_ANSWER_ASK,
} GstWzpAnswer;

/**
 * GstWzpPathPolicy:
 * @GST_WZP_PATH_POLICY_AUTO: start on the relay, move to a direct path
 *   when both peers agree, fall back to the relay when it goes quiet
 * @GST_WZP_PATH_POLICY_DIRECT_ONLY: no media until a direct path exists
 * @GST_WZP_PATH_POLICY_RELAY_ONLY: never try a direct path
 */
typedef enum
{
  GST_WZP_PATH_POLICY_AUTO,
  GST_WZP_PATH_POLICY_DIRECT_ONLY,
  GST_WZP_PATH_POLICY_RELAY_ONLY,
} GstWzpPathPolicy;

/**
 * GstWzpPath:
 * @GST_WZP_PATH_NONE: no media path (no call, or still setting up)
 * @GST_WZP_PATH_RELAY: media goes through the relay
 * @GST_WZP_PATH_DIRECT: media goes straight to the peer
 */
typedef enum
{
  GST_WZP_PATH_NONE,
  GST_WZP_PATH_RELAY,
  GST_WZP_PATH_DIRECT,
} GstWzpPath;

GType gst_wzp_answer_get_type (void);
GType gst_wzp_path_policy_get_type (void);
GType gst_wzp_path_get_type (void);
#define GST_TYPE_WZP_ANSWER (gst_wzp_answer_get_type ())
#define GST_TYPE_WZP_PATH_POLICY (gst_wzp_path_policy_get_type ())
#define GST_TYPE_WZP_PATH (gst_wzp_path_get_type ())

const gchar *gst_wzp_enum_to_nick (GType type, gint value);

G_END_DECLS
