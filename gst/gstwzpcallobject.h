/* gstwzpcallobject.h — one WzpCall shared by the wzp elements that name it
 *
 * The elements of a process that name the same call (the same `session`,
 * or the same relay, identity file, peer and room) share one
 * GstWzpCallObject and through it one WzpCall: one registration with the
 * relay, one UDP socket.  The object is refcounted in a process-wide
 * registry.  (srtsrc and srtsink do not share a connection like this:
 * they share code, GstSRTObject, one instance per element, as the wzp
 * elements share GstWzpObject, gstwzpobject.h.)
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
 * message on each state change, a "wzp-path-changed" message on each
 * path change, a "wzp-relay-state" message on each change of the relay's
 * state and a "wzp-incoming-call" message when a call asks to be
 * answered (see docs/ELEMENTS.md).
 *
 * Incoming calls (answer=ask): the elements' "incoming-call" signal is
 * emitted on a thread of its own (one per call object), never on the
 * call's thread, so a handler that takes its time stops neither the
 * network nor a state change; the application answers later with the
 * elements' "answer" / "reject" action signals, from any thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <wzp/wzp.h>
#include "gstwzpsettings.h"
#include "gstwzperror.h"

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
 * identity file.  On failure returns NULL and an error for the element to
 * post (settings errors among them). */
GstWzpCallObject *gst_wzp_call_object_acquire (const GstWzpSettings *
    settings, GstElement * element, const GstWzpCallUserFuncs * funcs,
    gpointer user_data, GstWzpError ** error);

/* Removes @element; the last user hangs up and stops the call's thread. */
void gst_wzp_call_object_release (GstWzpCallObject * self,
    GstElement * element);

WzpCallState gst_wzp_call_object_get_state (GstWzpCallObject * self);
WzpPathKind gst_wzp_call_object_get_path (GstWzpCallObject * self);
WzpRelayState gst_wzp_call_object_get_relay_state (GstWzpCallObject * self);
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

/* Answers (@accept) or rejects the incoming call @call_id.  Any thread.
 * FALSE when that call is not ringing. */
gboolean gst_wzp_call_object_decide (GstWzpCallObject * self,
    const gchar * call_id, gboolean accept);

/* Why the call failed, for an element to post: a text a user can act on
 * (wzp_call_error_describe()), located at the line in libwzp that failed
 * the call.  Free with gst_wzp_error_free(). */
GstWzpError *gst_wzp_call_object_dup_error (GstWzpCallObject * self);

G_END_DECLS
