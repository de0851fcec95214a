/* gstwzpcallobject.h — one WzpCall shared by the wzp elements that name it
 *
 * The elements of a process that name the same call (the same `session`,
 * or the same relay, identity file, peer and room) share one
 * GstWzpCallObject and through it one WzpCall: one registration with the
 * relay, one UDP socket.  The object is refcounted in a process-wide
 * registry, like GstSRTObject is shared by srtsrc and srtsink.
 *
 * Threading: the WzpCall lives on a GMainContext run by a thread the
 * object owns (libwzp is single-threaded on its context).  Users get
 * received frames and state wake-ups through #GstWzpCallUserFuncs, called
 * on that thread while the object's lock is held: they may only take
 * their own leaf lock and must not call back into the object.  Users must
 * not hold their own lock while calling gst_wzp_call_object_* functions.
 * State, path and counters may be read from any thread.
 *
 * Bus messages: every user element gets a "wzp-call-state" element
 * message on each state change and a "wzp-path-changed" message on each
 * path change (see docs/ELEMENTS.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "wzp-call.h"
#include "gstwzpsettings.h"

G_BEGIN_DECLS

typedef struct _GstWzpCallObject GstWzpCallObject;

/**
 * GstWzpCallUserFuncs:
 * @frame: (nullable): a received frame (wzpsrc)
 * @wake: (nullable): the call's state or path changed
 * @add_stats: (nullable): add receive-side fields to a stats structure
 * @member: (nullable): in a room, a member was admitted (@joined) or left.
 *   A user that comes later first gets a @joined for every member already
 *   in the room, before any frame from them.
 *
 * All are called on the call's thread with the object's lock held.
 */
typedef struct
{
  void (*frame) (const WzpCallFrame * frame, gpointer user_data);
  void (*wake) (gpointer user_data);
  void (*add_stats) (GstStructure * stats, gpointer user_data);
  void (*member) (const gchar * fingerprint, gboolean joined,
      gpointer user_data);
} GstWzpCallUserFuncs;

/* Finds or creates (and starts) the call @settings name and adds @element
 * as a user.  Posts an INFO message on @element when it creates the
 * identity file.  Sets a GError for GST_ELEMENT_ERROR on failure. */
GstWzpCallObject *gst_wzp_call_object_acquire (const GstWzpSettings *
    settings, GstElement * element, const GstWzpCallUserFuncs * funcs,
    gpointer user_data, GError ** error);

/* Removes @element; the last user hangs up and stops the call's thread. */
void gst_wzp_call_object_release (GstWzpCallObject * self,
    GstElement * element);

WzpCallState gst_wzp_call_object_get_state (GstWzpCallObject * self);
GstWzpPath gst_wzp_call_object_get_path (GstWzpCallObject * self);
GError *gst_wzp_call_object_dup_error (GstWzpCallObject * self);
gchar *gst_wzp_call_object_dup_peer (GstWzpCallObject * self);
gchar *gst_wzp_call_object_dup_call_id (GstWzpCallObject * self);
gchar *gst_wzp_call_object_dup_fingerprint (GstWzpCallObject * self);

/* TRUE when @element is the only element using the call. */
gboolean gst_wzp_call_object_is_sole_user (GstWzpCallObject * self,
    GstElement * element);

/* Never blocks; FALSE when the call is not active (frame dropped). */
gboolean gst_wzp_call_object_send (GstWzpCallObject * self,
    guint32 timestamp, gboolean marker, const guint8 * data, gsize len);

void gst_wzp_call_object_hangup (GstWzpCallObject * self);

/* Returns: (transfer full): an application/x-wzp-stats structure. */
GstStructure *gst_wzp_call_object_get_stats (GstWzpCallObject * self);

/* An empty stats structure with every field, for elements without a
 * call. */
GstStructure *gst_wzp_stats_new_empty (void);

/* Posts GST_ELEMENT_ERROR on @element for a call error (WZP_CALL_ERROR
 * codes become messages a user can act on). */
void gst_wzp_post_call_error (GstElement * element, const GError * error,
    const gchar * relay, const gchar * peer);

GstFlowReturn gst_wzp_post_call_failure (GstElement * element,
    GstWzpCallObject * call, const GstWzpSettings * settings,
    gboolean * error_posted);

G_END_DECLS
