/* wzp-call-stub.c — stand-in for lib/wzp-call.c until it lands
 *
 * Built into the plugin only while lib/wzp-call.c does not exist (see
 * gst/meson.build), so the elements, their properties, URI handling and
 * error paths build and can be tested before the call object exists.
 * wzp_call_start() fails with a clear message, unless the environment
 * variable WZP_STUB_LOOPBACK is set: then the call is a loopback for the
 * element tests (tests/gst/test-loopback.c): it becomes ACTIVE at once,
 * every frame sent comes back as received (WZP_STUB_LOOPBACK_DROP=N drops
 * every Nth), and after WZP_STUB_LOOPBACK_HANGUP_AFTER=N frames the far
 * end "hangs up".  Delete this file once libwzp provides the call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-call.h"

struct _WzpCall
{
  GObject parent;

  GMainContext *context;
  WzpCallFrameFunc frame_func;
  gpointer frame_data;
  GDestroyNotify frame_notify;
  gint state;                   /* atomic */
  GMutex lock;
  guint32 seq;
  guint64 sent, received, bytes;
  guint drop_every, hangup_after;
};

enum
{
  SIG_STATE_CHANGED,
  SIG_PATH_CHANGED,
  SIG_INCOMING_CALL,
  N_SIGNALS,
};

static guint stub_signals[N_SIGNALS];

G_DEFINE_TYPE (WzpCall, wzp_call, G_TYPE_OBJECT);
G_DEFINE_QUARK (wzp - call - error - quark, wzp_call_error);

static void
stub_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
}

static void
stub_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
}

static void
stub_finalize (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  if (self->frame_notify)
    self->frame_notify (self->frame_data);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (wzp_call_parent_class)->finalize (object);
}

static void
wzp_call_class_init (WzpCallClass * klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  const GParamFlags f = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  oc->finalize = stub_finalize;
  oc->set_property = stub_set_property;
  oc->get_property = stub_get_property;
  g_object_class_install_property (oc, 1, g_param_spec_int ("answer-policy",
          "", "", 0, 2, 0, f));
  g_object_class_install_property (oc, 2, g_param_spec_int ("path-policy",
          "", "", 0, 2, 0, f));
  g_object_class_install_property (oc, 3,
      g_param_spec_string ("relay-fingerprint", "", "", NULL, f));
  g_object_class_install_property (oc, 4, g_param_spec_string ("peer", "", "",
          NULL, f));
  g_object_class_install_property (oc, 5, g_param_spec_string ("room", "", "",
          NULL, f));
  stub_signals[SIG_STATE_CHANGED] =
      g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT,
      G_TYPE_ERROR);
  stub_signals[SIG_PATH_CHANGED] =
      g_signal_new ("path-changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT,
      G_TYPE_STRING);
  stub_signals[SIG_INCOMING_CALL] =
      g_signal_new ("incoming-call", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
}

static void
wzp_call_init (WzpCall * self)
{
  g_mutex_init (&self->lock);
}

static void
set_state (WzpCall * self, WzpCallState state)
{
  g_atomic_int_set (&self->state, state);
  g_signal_emit (self, stub_signals[SIG_STATE_CHANGED], 0, state, NULL);
}

static gboolean
loopback_connect (gpointer data)
{
  WzpCall *self = data;

  set_state (self, WZP_CALL_STATE_CONNECTING);
  set_state (self, WZP_CALL_STATE_ACTIVE);
  g_signal_emit (self, stub_signals[SIG_PATH_CHANGED], 0, WZP_PATH_RELAY,
      "loopback");
  return G_SOURCE_REMOVE;
}

static gboolean
loopback_end (gpointer data)
{
  WzpCall *self = data;

  if (g_atomic_int_get (&self->state) == WZP_CALL_STATE_ACTIVE)
    set_state (self, WZP_CALL_STATE_ENDED);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  WzpCall *call;
  WzpCallFrame frame;
  GBytes *bytes;
} LoopFrame;

static gboolean
loopback_deliver (gpointer data)
{
  LoopFrame *f = data;
  WzpCall *self = f->call;

  if (g_atomic_int_get (&self->state) == WZP_CALL_STATE_ACTIVE
      && self->frame_func) {
    f->frame.data = g_bytes_get_data (f->bytes, &f->frame.len);
    f->frame.arrival_ns = g_get_monotonic_time () * 1000;
    self->frame_func (&f->frame, self->frame_data);
    g_mutex_lock (&self->lock);
    self->received++;
    g_mutex_unlock (&self->lock);
  }
  return G_SOURCE_REMOVE;
}

static void
loop_frame_free (gpointer data)
{
  LoopFrame *f = data;

  g_bytes_unref (f->bytes);
  g_object_unref (f->call);
  g_free (f);
}

const char *
wzp_call_state_to_string (WzpCallState state)
{
  static const char *names[] = { "idle", "connecting", "waiting", "ringing",
    "active", "ended", "failed"
  };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

WzpCall *
wzp_call_new (GMainContext * context, WzpIdentity * identity, const char *relay)
{
  WzpCall *self = g_object_new (WZP_TYPE_CALL, NULL);

  self->context = context ? g_main_context_ref (context)
      : g_main_context_ref_thread_default ();
  return self;
}

gboolean
wzp_call_start (WzpCall * self, GError ** error)
{
  if (g_getenv ("WZP_STUB_LOOPBACK")) {
    const gchar *drop = g_getenv ("WZP_STUB_LOOPBACK_DROP");
    const gchar *hangup = g_getenv ("WZP_STUB_LOOPBACK_HANGUP_AFTER");

    self->drop_every = drop ? (guint) g_ascii_strtoull (drop, NULL, 10) : 0;
    self->hangup_after = hangup ?
        (guint) g_ascii_strtoull (hangup, NULL, 10) : 0;
    g_main_context_invoke (self->context, loopback_connect, self);
    return TRUE;
  }
  g_set_error_literal (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
      "this build of libwzp has no call support yet (lib/wzp-call.c is "
      "missing)");
  return FALSE;
}

void
wzp_call_hangup (WzpCall * self)
{
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, loopback_end,
      g_object_ref (self), g_object_unref);
}

gboolean
wzp_call_send_frame (WzpCall * self, guint32 timestamp, gboolean marker,
    const guint8 * data, gsize len)
{
  LoopFrame *f;
  guint64 n;

  if (g_atomic_int_get (&self->state) != WZP_CALL_STATE_ACTIVE)
    return FALSE;
  g_mutex_lock (&self->lock);
  n = ++self->sent;
  self->bytes += len;
  f = g_new0 (LoopFrame, 1);
  f->frame.seq = self->seq++;
  g_mutex_unlock (&self->lock);

  if (self->hangup_after && n == self->hangup_after)
    wzp_call_hangup (self);
  if (self->drop_every && n % self->drop_every == 0) {
    g_free (f);
    return TRUE;
  }
  f->call = g_object_ref (self);
  f->frame.sender = "loopback";
  f->frame.timestamp = timestamp;
  f->frame.marker = marker;
  f->frame.path = WZP_PATH_RELAY;
  f->bytes = g_bytes_new (data, len);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
      loopback_deliver, f, loop_frame_free);
  return TRUE;
}

void
wzp_call_set_frame_handler (WzpCall * self, WzpCallFrameFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  self->frame_func = func;
  self->frame_data = user_data;
  self->frame_notify = notify;
}

void
wzp_call_get_stats (WzpCall * self, WzpCallStats * stats)
{
  memset (stats, 0, sizeof (*stats));
  g_mutex_lock (&self->lock);
  stats->state = g_atomic_int_get (&self->state);
  stats->path = stats->state == WZP_CALL_STATE_ACTIVE ? WZP_PATH_RELAY
      : WZP_PATH_NONE;
  stats->frames_sent = self->sent;
  stats->bytes_sent = self->bytes;
  stats->frames_received = self->received;
  g_mutex_unlock (&self->lock);
}

WzpCallState
wzp_call_get_state (WzpCall * self)
{
  return g_atomic_int_get (&self->state);
}

WzpPathKind
wzp_call_get_path (WzpCall * self)
{
  return WZP_PATH_NONE;
}

const char *
wzp_call_get_peer_fingerprint (WzpCall * self)
{
  return NULL;
}

const char *
wzp_call_get_call_id (WzpCall * self)
{
  return NULL;
}
