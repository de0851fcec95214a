/* gstwzpobject.h — the part of a wzp element that deals with its call
 *
 * wzpsrc, wzpsink and wzproomsrc have the same connection settings
 * (relay, identity, peer, room, ...), the same read-only properties from
 * the call (path, stats, relay-state, ...), the same wzp:// URI and the
 * same way of taking part in a call.  One implementation serves them all,
 * as GstSRTObject serves srtsrc and srtsink: the element class installs
 * the properties (and signals) through gst_wzp_object_class_init(), and
 * each element instance owns one GstWzpObject that holds its settings,
 * acquires and releases its call, and wakes its streaming thread.
 *
 * Shared code, one object per element.  What elements share at run time
 * is the *call*: the elements of a process that name the same session
 * (or relay, identity, peer and room) use one GstWzpCallObject, that is
 * one WzpCall, one registration and one socket (gstwzpcallobject.h).
 *
 * Locks, outermost first:
 *  - the settings lock: the properties' values;
 *  - the call lock: the call pointer, for application threads (property
 *    reads, the answer/reject signals);
 *  - the streaming lock and its condition, which the element also uses
 *    for its own streaming state.  Every change of the call's state
 *    broadcasts the condition; unlock()/unlock_stop() set and clear
 *    flushing under it, waking any wait.  The call delivers frames with
 *    its own lock held (gstwzpcallobject.h), so a frame handler may take
 *    the streaming lock and nothing else.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstwzpcallobject.h"
#include "gstwzplog.h"

G_BEGIN_DECLS

/* Property ids of all wzp elements; an element with properties of its
 * own numbers them from GST_WZP_PROP_LAST. */
enum
{
  GST_WZP_PROP_0,
  GST_WZP_PROP_URI,
  GST_WZP_PROP_RELAY,
  GST_WZP_PROP_RELAY_FINGERPRINT,
  GST_WZP_PROP_IDENTITY,
  GST_WZP_PROP_PEER,
  GST_WZP_PROP_SESSION,
  GST_WZP_PROP_ROOM,
  GST_WZP_PROP_ANSWER,
  GST_WZP_PROP_PATH_POLICY,
  GST_WZP_PROP_PATH,
  GST_WZP_PROP_STATS,
  GST_WZP_PROP_CALL_ID,
  GST_WZP_PROP_FINGERPRINT,
  GST_WZP_PROP_ROOM_OWNER,
  GST_WZP_PROP_ROOM_INVITE,
  GST_WZP_PROP_ROOM_OPEN,
  GST_WZP_PROP_MEDIA_TIMEOUT,
  GST_WZP_PROP_RELAY_STATE,
  GST_WZP_PROP_LATENCY,
  GST_WZP_PROP_MAX_LATENCY,
  GST_WZP_PROP_WAIT_FOR_CALL,
  GST_WZP_PROP_LAST,
};

/**
 * GstWzpObjectRole:
 * @GST_WZP_OBJECT_ANSWERS: the element answers calls: the
 *   "incoming-call" signal and the "answer" and "reject" action signals
 * @GST_WZP_OBJECT_RECEIVES: the element plays what it receives through
 *   jitter buffers: "latency" and "max-latency"
 * @GST_WZP_OBJECT_SENDS: the element sends: "wait-for-call"
 *
 * What an element installs besides the connection settings and the
 * call's read-only properties, which every wzp element has.
 */
typedef enum
{
  GST_WZP_OBJECT_ANSWERS = 1 << 0,
  GST_WZP_OBJECT_RECEIVES = 1 << 1,
  GST_WZP_OBJECT_SENDS = 1 << 2,
} GstWzpObjectRole;

#define GST_WZP_DEFAULT_LATENCY 60
#define GST_WZP_DEFAULT_MAX_LATENCY 500
#define GST_WZP_DEFAULT_WAIT_FOR_CALL TRUE

typedef struct _GstWzpObject GstWzpObject;

/**
 * GstWzpObjectFuncs:
 * @call: what the call delivers (gstwzpcallobject.h), forwarded; @wake
 *   runs after the streaming condition was broadcast
 * @latency_changed: (nullable): "latency" or "max-latency" changed while
 *   started (any thread; the object already posted a LATENCY message)
 */
typedef struct
{
  GstWzpCallUserFuncs call;
  void (*latency_changed) (guint latency_ms, guint max_latency_ms,
      gpointer user_data);
} GstWzpObjectFuncs;

/* Class setup: installs the properties of @roles (with their docs, blurbs
 * and flags), the signals of GST_WZP_OBJECT_ANSWERS, set_property /
 * get_property that handle them, and for a GstBaseSrc or GstBaseSink
 * unlock / unlock_stop (gst_wzp_object_set_flushing()).  An element with
 * properties of its own overrides set_property / get_property and calls
 * gst_wzp_object_set_property() / _get_property() first. */
void gst_wzp_object_class_init (gpointer g_class, GstWzpObjectRole roles);

/* The wzp:// URI handler (wzpsrc, wzpsink). */
void gst_wzp_object_uri_handler_init (gpointer g_iface, gpointer iface_data);

/* Defines the type of a wzp element that is a wzp:// URI handler, and its
 * registration as @name (which sets up the log forwarding). */
#define GST_WZP_DEFINE_URI_ELEMENT(TypeName, type_name, PARENT_TYPE, name, \
    TYPE) \
  G_DEFINE_TYPE_WITH_CODE (TypeName, type_name, PARENT_TYPE, \
      G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER, \
          gst_wzp_object_uri_handler_init)); \
  GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (name, #name, GST_RANK_NONE, TYPE, \
      gst_wzp_log_init ())

/* Instance setup, from the element's init.  The object lives as long as
 * @element. */
GstWzpObject *gst_wzp_object_new (GstElement * element);

/* TRUE when @prop_id is one of the object's. */
gboolean gst_wzp_object_set_property (GstWzpObject * self, guint prop_id,
    const GValue * value);
gboolean gst_wzp_object_get_property (GstWzpObject * self, guint prop_id,
    GValue * value);

/* Copies of the settings (clear with gst_wzp_settings_clear()). */
void gst_wzp_object_get_settings (GstWzpObject * self,
    GstWzpSettings * settings);
void gst_wzp_object_get_latency (GstWzpObject * self, guint * latency_ms,
    guint * max_latency_ms);
gboolean gst_wzp_object_get_wait_for_call (GstWzpObject * self);

/* Answers a LATENCY query: live, min "latency", max "max-latency". */
void gst_wzp_object_answer_latency_query (GstWzpObject * self,
    GstQuery * query);

/* Checks the settings and acquires the call they name for @user (the
 * element that gets the call's frames and bus messages: the object's
 * element, or wzproomsrc's inner one).  On failure posts the error on
 * @user and returns FALSE. */
gboolean gst_wzp_object_start (GstWzpObject * self, GstElement * user,
    const GstWzpObjectFuncs * funcs, gpointer user_data);
/* Releases the call; no function of @funcs runs afterwards. */
void gst_wzp_object_stop (GstWzpObject * self);

/* Between start and stop, from the streaming thread: the call. */
GstWzpCallObject *gst_wzp_object_get_call (GstWzpObject * self);
/* The call's state, IDLE without a call.  Any thread. */
WzpCallState gst_wzp_object_get_call_state (GstWzpObject * self);

/* The streaming lock (see above). */
void gst_wzp_object_lock (GstWzpObject * self);
void gst_wzp_object_unlock (GstWzpObject * self);
/* Lock held: wakes every wait. */
void gst_wzp_object_broadcast (GstWzpObject * self);
/* Lock held: waits for a wake-up until @end_time (monotonic µs).  FALSE
 * when flushing (unlock() was called). */
gboolean gst_wzp_object_wait (GstWzpObject * self, gint64 end_time);
gboolean gst_wzp_object_is_flushing (GstWzpObject * self);
/* unlock() (TRUE) and unlock_stop() (FALSE) of the element (installed by
 * gst_wzp_object_class_init() on base sources and sinks). */
void gst_wzp_object_set_flushing (GstWzpObject * self, gboolean flushing);

/* The call failed: posts its error on the user element once per start
 * and returns GST_FLOW_ERROR.  The text is one a user can act on
 * (wzp_call_error_describe()), its location the line in libwzp that
 * failed the call. */
GstFlowReturn gst_wzp_object_post_failure (GstWzpObject * self);

G_END_DECLS
