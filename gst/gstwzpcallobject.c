/* gstwzpcallobject.c — one WzpCall shared by the wzp elements that name it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpcallobject.h"
#include "gstwzplog.h"

#define GST_CAT_DEFAULT gst_wzp_call_debug

/* How long the last user waits for a hang-up to leave before the call's
 * thread stops anyway. */
#define HANGUP_GRACE_MS 500
/* How long the loop keeps running after the call ended, so the hang-up
 * leaves. */
#define HANGUP_FLUSH_MS 100

typedef struct
{
  GstElement *element;          /* not owned: users release before dispose */
  GstWzpCallUserFuncs funcs;
  gpointer user_data;
} CallUser;

struct _GstWzpCallObject
{
  /* registry lock */
  gchar *key;
  gint refcount;

  /* constant after acquire */
  GstWzpSettings settings;
  WzpIdentity *identity;
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;

  /* the call's thread only */
  WzpCall *call;

  /* emits "incoming-call" on the elements, off the call's thread */
  GThreadPool *notify_pool;

  GMutex lock;
  GCond cond;
  gboolean started;
  GError *start_error;
  GList *users;
  GstWzpError *error;           /* why the call failed */
  gchar *peer;
  gchar *call_id;
  gboolean closing;
  GHashTable *members;          /* room members (fingerprints), admitted */

  /* atomic */
  gint state;
  gint path;
  gint relay_state;
};

/* One "incoming-call" emission for the notify thread. */
typedef struct
{
  GstElement *element;
  gchar *caller;
  gchar *call_id;
} IncomingNote;

static GMutex registry_lock;
static GHashTable *registry;

/* -------------------------------------------------------------------------
 * Messages to the elements
 */

static GList *
snapshot_elements (GstWzpCallObject * self)
{
  GList *l, *out = NULL;

  for (l = self->users; l; l = l->next)
    out =
        g_list_prepend (out, gst_object_ref (((CallUser *) l->data)->element));
  return g_list_reverse (out);
}

static void
post_to_all (GList * elements, const GstStructure * s)
{
  GList *l;

  for (l = elements; l; l = l->next) {
    GstElement *element = l->data;

    gst_element_post_message (element,
        gst_message_new_element (GST_OBJECT (element), gst_structure_copy (s)));
  }
}

static void
wake_users_locked (GstWzpCallObject * self)
{
  GList *l;

  for (l = self->users; l; l = l->next) {
    CallUser *u = l->data;

    if (u->funcs.wake)
      u->funcs.wake (u->user_data);
  }
}

/* -------------------------------------------------------------------------
 * WzpCall signal handlers (the call's thread)
 */

static gboolean
quit_loop (gpointer data)
{
  GstWzpCallObject *self = data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

/* The hang-up is queued, not yet on the wire: give the loop a moment to
 * send it before the thread (and with it the connection) goes away. */
static void
quit_soon (GstWzpCallObject * self)
{
  GSource *timeout = g_timeout_source_new (HANGUP_FLUSH_MS);

  g_source_set_callback (timeout, quit_loop, self, NULL);
  g_source_attach (timeout, self->context);
  g_source_unref (timeout);
}

static GstResourceError
resource_code (const GError * error)
{
  if (error->domain != WZP_CALL_ERROR)
    return GST_RESOURCE_ERROR_FAILED;
  switch ((WzpCallError) error->code) {
    case WZP_CALL_ERROR_RELAY_UNREACHABLE:
    case WZP_CALL_ERROR_NO_PATH:
    case WZP_CALL_ERROR_CLUSTER_UNAVAILABLE:
      return GST_RESOURCE_ERROR_OPEN_READ_WRITE;
    case WZP_CALL_ERROR_RELAY_REFUSED:
    case WZP_CALL_ERROR_RELAY_IDENTITY:
    case WZP_CALL_ERROR_REJECTED:
    case WZP_CALL_ERROR_BAD_PEER:
    case WZP_CALL_ERROR_NOT_ADMITTED:
      return GST_RESOURCE_ERROR_NOT_AUTHORIZED;
    case WZP_CALL_ERROR_SUPERSEDED:
    case WZP_CALL_ERROR_BUSY:
      return GST_RESOURCE_ERROR_BUSY;
    case WZP_CALL_ERROR_PEER_OFFLINE:
    case WZP_CALL_ERROR_NO_ANSWER:
      return GST_RESOURCE_ERROR_NOT_FOUND;
    case WZP_CALL_ERROR_RELAY_LOST:
      return GST_RESOURCE_ERROR_READ;
    case WZP_CALL_ERROR_INVALID_SETTINGS:
      return GST_RESOURCE_ERROR_SETTINGS;
    default:
      return GST_RESOURCE_ERROR_FAILED;
  }
}

/* The element error for a failed call: the user's text, libwzp's detail,
 * and the place in libwzp that failed it (or @file/@line here). */
static GstWzpError *
call_error (WzpCall * call, const GError * reason, const GstWzpSettings * s,
    const gchar * file, const gchar * function, gint line)
{
  GError *fallback = NULL;
  GstWzpError *e;
  gchar *text;

  if (reason == NULL)
    reason = fallback = g_error_new_literal (WZP_CALL_ERROR,
        WZP_CALL_ERROR_FAILED, "the call failed");
  if (call)
    wzp_call_get_failure_origin (call, &file, &function, &line);
  text = wzp_call_error_describe (reason, s->relay, s->peer ? s->peer :
      (call ? wzp_call_get_peer_fingerprint (call) : NULL));
  e = gst_wzp_error_new_full (GST_RESOURCE_ERROR, resource_code (reason),
      file, function, line, g_strdup (reason->message), "%s", text);
  g_free (text);
  g_clear_error (&fallback);
  return e;
}

static void
on_state_changed (WzpCall * call, WzpCallState state, GError * reason,
    gpointer user_data)
{
  GstWzpCallObject *self = user_data;
  const char *peer = wzp_call_get_peer_fingerprint (call);
  const char *call_id = wzp_call_get_call_id (call);
  GstStructure *s;
  GList *elements;

  GST_INFO ("call %s: state %s%s%s", self->key,
      wzp_call_state_to_string (state), reason ? ": " : "",
      reason ? reason->message : "");

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->state, state);
  if (state == WZP_CALL_STATE_FAILED) {
    g_clear_pointer (&self->error, gst_wzp_error_free);
    self->error = call_error (call, reason, &self->settings, __FILE__,
        GST_FUNCTION, __LINE__);
  }
  if (peer) {
    g_free (self->peer);
    self->peer = g_strdup (peer);
  }
  if (call_id) {
    g_free (self->call_id);
    self->call_id = g_strdup (call_id);
  }
  wake_users_locked (self);
  if (self->closing && (state == WZP_CALL_STATE_ENDED
          || state == WZP_CALL_STATE_FAILED))
    quit_soon (self);
  elements = snapshot_elements (self);
  g_mutex_unlock (&self->lock);

  s = gst_structure_new ("wzp-call-state",
      "state", G_TYPE_STRING, wzp_call_state_to_string (state),
      "reason", G_TYPE_STRING, reason ? reason->message : NULL,
      "peer", G_TYPE_STRING, peer, "call-id", G_TYPE_STRING, call_id, NULL);
  post_to_all (elements, s);
  gst_structure_free (s);
  g_list_free_full (elements, gst_object_unref);
}

static void
on_path_changed (WzpCall * call, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  GstWzpCallObject *self = user_data;
  GstStructure *s;
  GList *elements;

  GST_INFO ("call %s: path %s (%s)", self->key,
      wzp_path_kind_to_string (path), reason ? reason : "");

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->path, path);
  wake_users_locked (self);
  elements = snapshot_elements (self);
  g_mutex_unlock (&self->lock);

  s = gst_structure_new ("wzp-path-changed",
      "path", G_TYPE_STRING, wzp_path_kind_to_string (path),
      "reason", G_TYPE_STRING, reason, NULL);
  post_to_all (elements, s);
  gst_structure_free (s);
  g_list_free_full (elements, gst_object_unref);
}

static void
on_relay_state_changed (WzpCall * call, WzpRelayState state, GError * reason,
    gpointer user_data)
{
  GstWzpCallObject *self = user_data;
  GstStructure *s;
  GList *elements;

  GST_INFO ("call %s: relay %s%s%s", self->key,
      wzp_relay_state_to_string (state), reason ? ": " : "",
      reason ? reason->message : "");
  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->relay_state, state);
  wake_users_locked (self);
  elements = snapshot_elements (self);
  g_mutex_unlock (&self->lock);

  s = gst_structure_new ("wzp-relay-state",
      "state", G_TYPE_STRING, wzp_relay_state_to_string (state),
      "reason", G_TYPE_STRING, reason ? reason->message : NULL,
      "relay", G_TYPE_STRING, self->settings.relay, NULL);
  post_to_all (elements, s);
  gst_structure_free (s);
  g_list_free_full (elements, gst_object_unref);
}

/* The notify thread: an application's handler may take as long as it
 * likes here (ask a user, block), the call goes on without it. */
static void
emit_incoming (gpointer data, gpointer user_data)
{
  IncomingNote *n = data;

  GST_DEBUG_OBJECT (n->element, "incoming-call %s from %s", n->call_id,
      n->caller);
  g_signal_emit_by_name (n->element, "incoming-call", n->caller, n->call_id);
  gst_object_unref (n->element);
  g_free (n->caller);
  g_free (n->call_id);
  g_free (n);
}

static void
on_incoming_call (WzpCall * call, const char *caller, const char *call_id,
    gpointer user_data)
{
  GstWzpCallObject *self = user_data;
  GList *elements, *l;
  GstStructure *s;

  g_mutex_lock (&self->lock);
  elements = snapshot_elements (self);
  g_mutex_unlock (&self->lock);

  GST_INFO ("call %s: incoming call %s from %s, asking the application",
      self->key, call_id, caller);
  s = gst_structure_new ("wzp-incoming-call",
      "caller", G_TYPE_STRING, caller, "call-id", G_TYPE_STRING, call_id, NULL);
  post_to_all (elements, s);
  gst_structure_free (s);
  for (l = elements; l; l = l->next) {
    IncomingNote *n = g_new0 (IncomingNote, 1);

    n->element = gst_object_ref (l->data);
    n->caller = g_strdup (caller);
    n->call_id = g_strdup (call_id);
    g_thread_pool_push (self->notify_pool, n, NULL);
  }
  g_list_free_full (elements, gst_object_unref);
}

/* Rooms: members come and go (the call's thread). */
static void
member_changed (GstWzpCallObject * self, const char *fp, gboolean joined)
{
  GList *l;

  GST_INFO ("call %s: room member %s %s", self->key, fp,
      joined ? "joined" : "left");
  g_mutex_lock (&self->lock);
  if (joined)
    g_hash_table_add (self->members, g_strdup (fp));
  else
    g_hash_table_remove (self->members, fp);
  for (l = self->users; l; l = l->next) {
    CallUser *u = l->data;

    if (u->funcs.member)
      u->funcs.member (fp, joined, u->user_data);
  }
  g_mutex_unlock (&self->lock);
}

static void
on_member_joined (WzpCall * call, const char *fp, gpointer user_data)
{
  member_changed (user_data, fp, TRUE);
}

static void
on_member_left (WzpCall * call, const char *fp, gpointer user_data)
{
  member_changed (user_data, fp, FALSE);
}

static void
on_frame (const WzpCallFrame * frame, gpointer user_data)
{
  GstWzpCallObject *self = user_data;
  GList *l;

  g_mutex_lock (&self->lock);
  for (l = self->users; l; l = l->next) {
    CallUser *u = l->data;

    if (u->funcs.frame)
      u->funcs.frame (frame, u->user_data);
  }
  g_mutex_unlock (&self->lock);
}

/* -------------------------------------------------------------------------
 * The call's thread
 */

static gpointer
call_thread (gpointer data)
{
  GstWzpCallObject *self = data;
  const GstWzpSettings *s = &self->settings;
  GError *error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (self->context);

  self->call = wzp_call_new (self->context, self->identity, s->relay);
  g_object_set (self->call,
      "answer-policy", s->answer, "path-policy", s->path_policy,
      "media-timeout", s->media_timeout_ms, NULL);
  if (s->relay_fingerprint)
    g_object_set (self->call, "relay-fingerprint", s->relay_fingerprint, NULL);
  if (s->peer)
    g_object_set (self->call, "peer", s->peer, NULL);
  if (s->room)
    g_object_set (self->call, "room", s->room, "room-owner", s->room_owner,
        "room-invite", s->room_invite, "room-open", s->room_open, NULL);
  g_signal_connect (self->call, "state-changed",
      G_CALLBACK (on_state_changed), self);
  g_signal_connect (self->call, "path-changed",
      G_CALLBACK (on_path_changed), self);
  g_signal_connect (self->call, "incoming-call",
      G_CALLBACK (on_incoming_call), self);
  g_signal_connect (self->call, "room-member-joined",
      G_CALLBACK (on_member_joined), self);
  g_signal_connect (self->call, "room-member-left",
      G_CALLBACK (on_member_left), self);
  g_signal_connect (self->call, "relay-state-changed",
      G_CALLBACK (on_relay_state_changed), self);
  wzp_call_set_frame_handler (self->call, on_frame, self, NULL);

  ok = wzp_call_start (self->call, &error);

  g_mutex_lock (&self->lock);
  self->started = TRUE;
  self->start_error = error;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (ok)
    g_main_loop_run (self->loop);

  g_signal_handlers_disconnect_by_data (self->call, self);
  g_clear_object (&self->call);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static gboolean
shutdown_on_thread (gpointer data)
{
  GstWzpCallObject *self = data;
  WzpCallState state = wzp_call_get_state (self->call);
  GSource *timeout;

  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  g_mutex_unlock (&self->lock);

  if (state == WZP_CALL_STATE_IDLE || state == WZP_CALL_STATE_ENDED
      || state == WZP_CALL_STATE_FAILED) {
    g_main_loop_quit (self->loop);
    return G_SOURCE_REMOVE;
  }
  GST_DEBUG ("call %s: hanging up", self->key);
  wzp_call_hangup (self->call);
  timeout = g_timeout_source_new (HANGUP_GRACE_MS);
  g_source_set_callback (timeout, quit_loop, self, NULL);
  g_source_attach (timeout, self->context);
  g_source_unref (timeout);
  return G_SOURCE_REMOVE;
}

static void
call_object_free (GstWzpCallObject * self)
{
  /* Never waits for an application's incoming-call handler: pending
   * emissions still run (they hold their element), then the thread
   * ends on its own. */
  g_thread_pool_free (self->notify_pool, FALSE, FALSE);
  g_list_free_full (self->users, g_free);
  g_clear_error (&self->start_error);
  g_clear_pointer (&self->error, gst_wzp_error_free);
  g_free (self->peer);
  g_free (self->call_id);
  g_hash_table_unref (self->members);
  g_free (self->key);
  gst_wzp_settings_clear (&self->settings);
  g_clear_object (&self->identity);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

/* -------------------------------------------------------------------------
 * Acquire and release
 */

static WzpIdentity *
load_identity (const gchar * path, GstElement * element, GstWzpError ** error)
{
  GError *err = NULL;
  gboolean created = FALSE;
  WzpIdentity *identity = wzp_identity_load_or_create (path, &created, &err);

  if (!identity) {
    *error = gst_wzp_error_new (GST_RESOURCE_ERROR_OPEN_READ,
        g_strdup (err->message), "Could not read the identity file \"%s\": "
        "%s", path, err->message);
    g_error_free (err);
    return NULL;
  }
  if (created) {
    /* gst-launch-1.0 prints the debug part of INFO messages */
    GST_ELEMENT_INFO (element, RESOURCE, WRITE,
        ("Created identity file \"%s\"; its fingerprint (what others dial) "
            "is %s", path, wzp_identity_get_fingerprint (identity)),
        ("created identity file %s, fingerprint %s", path,
            wzp_identity_get_fingerprint (identity)));
  }
  GST_INFO_OBJECT (element, "identity %s: fingerprint %s", path,
      wzp_identity_get_fingerprint (identity));
  return identity;
}

static GstWzpCallObject *
call_object_create (const GstWzpSettings * settings, const gchar * key,
    GstElement * element, GstWzpError ** error)
{
  GstWzpCallObject *self;
  WzpIdentity *identity = load_identity (settings->identity, element, error);

  if (!identity)
    return NULL;

  self = g_new0 (GstWzpCallObject, 1);
  self->key = g_strdup (key);
  gst_wzp_settings_copy (&self->settings, settings);
  self->identity = identity;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->state = WZP_CALL_STATE_IDLE;
  self->path = WZP_PATH_NONE;
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->relay_state = WZP_RELAY_STATE_NONE;
  self->notify_pool = g_thread_pool_new (emit_incoming, NULL, 1, FALSE, NULL);

  self->thread = g_thread_new ("wzpcall", call_thread, self);
  g_mutex_lock (&self->lock);
  while (!self->started)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);

  if (self->start_error) {
    /* Settings libwzp refuses are settings errors too. */
    if (g_error_matches (self->start_error, WZP_CALL_ERROR,
            WZP_CALL_ERROR_NOT_ADMITTED))
      *error = gst_wzp_error_new (GST_RESOURCE_ERROR_NOT_AUTHORIZED,
          g_strdup (self->start_error->message), "Cannot join room %s: %s",
          settings->room, self->start_error->message);
    else if (g_error_matches (self->start_error, WZP_CALL_ERROR,
            WZP_CALL_ERROR_INVALID_SETTINGS))
      *error = gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS,
          g_strdup (self->start_error->message), "Invalid settings: %s",
          self->start_error->message);
    else
      *error = gst_wzp_error_new (GST_RESOURCE_ERROR_OPEN_READ_WRITE,
          g_strdup (self->start_error->message), "Could not start the call "
          "through relay %s: %s", settings->relay, self->start_error->message);
    g_thread_join (self->thread);
    call_object_free (self);
    return NULL;
  }
  if (g_atomic_int_get (&self->state) == WZP_CALL_STATE_IDLE)
    g_atomic_int_set (&self->state, WZP_CALL_STATE_CONNECTING);
  GST_INFO_OBJECT (element, "started call %s", key);
  return self;
}

GstWzpCallObject *
gst_wzp_call_object_acquire (const GstWzpSettings * settings,
    GstElement * element, const GstWzpCallUserFuncs * funcs,
    gpointer user_data, GstWzpError ** error)
{
  GstWzpCallObject *self;
  CallUser *user;
  gchar *key;

  *error = gst_wzp_settings_validate (settings);
  if (*error)
    return NULL;

  key = gst_wzp_settings_call_key (settings);
  g_mutex_lock (&registry_lock);
  if (!registry)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  self = g_hash_table_lookup (registry, key);
  if (self) {
    GST_INFO_OBJECT (element, "sharing call %s", key);
    if (!gst_wzp_settings_same_call (&self->settings, settings))
      GST_WARNING_OBJECT (element, "session %s is already in use with other "
          "settings; the first element's settings apply", key);
  } else {
    self = call_object_create (settings, key, element, error);
    if (!self) {
      g_mutex_unlock (&registry_lock);
      g_free (key);
      return NULL;
    }
    g_hash_table_insert (registry, self->key, self);
  }
  self->refcount++;

  user = g_new0 (CallUser, 1);
  user->element = element;
  if (funcs)
    user->funcs = *funcs;
  user->user_data = user_data;
  g_mutex_lock (&self->lock);
  self->users = g_list_append (self->users, user);
  if (user->funcs.member) {
    GHashTableIter it;
    gpointer fp;

    g_hash_table_iter_init (&it, self->members);
    while (g_hash_table_iter_next (&it, &fp, NULL))
      user->funcs.member (fp, TRUE, user->user_data);
  }
  g_mutex_unlock (&self->lock);

  g_mutex_unlock (&registry_lock);
  g_free (key);
  return self;
}

void
gst_wzp_call_object_release (GstWzpCallObject * self, GstElement * element)
{
  GList *l;
  gboolean last;

  g_mutex_lock (&registry_lock);
  g_mutex_lock (&self->lock);
  for (l = self->users; l; l = l->next) {
    CallUser *u = l->data;

    if (u->element == element) {
      self->users = g_list_delete_link (self->users, l);
      g_free (u);
      break;
    }
  }
  g_mutex_unlock (&self->lock);
  last = --self->refcount == 0;
  if (last)
    g_hash_table_remove (registry, self->key);
  g_mutex_unlock (&registry_lock);

  if (!last)
    return;

  GST_INFO_OBJECT (element, "last user of call %s: closing", self->key);
  g_main_context_invoke (self->context, shutdown_on_thread, self);
  g_thread_join (self->thread);
  call_object_free (self);
}

/* -------------------------------------------------------------------------
 * Any thread
 */

WzpCallState
gst_wzp_call_object_get_state (GstWzpCallObject * self)
{
  return g_atomic_int_get (&self->state);
}

WzpPathKind
gst_wzp_call_object_get_path (GstWzpCallObject * self)
{
  return g_atomic_int_get (&self->path);
}

WzpRelayState
gst_wzp_call_object_get_relay_state (GstWzpCallObject * self)
{
  return g_atomic_int_get (&self->relay_state);
}

gboolean
gst_wzp_call_object_decide (GstWzpCallObject * self, const gchar * call_id,
    gboolean accept)
{
  return accept ? wzp_call_answer (self->call, call_id) :
      wzp_call_reject (self->call, call_id);
}

gchar *
gst_wzp_call_object_dup_peer (GstWzpCallObject * self)
{
  gchar *peer;

  g_mutex_lock (&self->lock);
  peer = g_strdup (self->peer);
  g_mutex_unlock (&self->lock);
  return peer;
}

gchar *
gst_wzp_call_object_dup_call_id (GstWzpCallObject * self)
{
  gchar *id;

  g_mutex_lock (&self->lock);
  id = g_strdup (self->call_id);
  g_mutex_unlock (&self->lock);
  return id;
}

gchar *
gst_wzp_call_object_dup_fingerprint (GstWzpCallObject * self)
{
  return g_strdup (wzp_identity_get_fingerprint (self->identity));
}

gboolean
gst_wzp_call_object_is_sole_user (GstWzpCallObject * self, GstElement * element)
{
  gboolean sole;

  g_mutex_lock (&self->lock);
  sole = self->users && !self->users->next
      && ((CallUser *) self->users->data)->element == element;
  g_mutex_unlock (&self->lock);
  return sole;
}

gboolean
gst_wzp_call_object_send (GstWzpCallObject * self, guint32 timestamp,
    gboolean marker, const guint8 * data, gsize len)
{
  return wzp_call_send_frame (self->call, timestamp, marker, data, len);
}

void
gst_wzp_call_object_hangup (GstWzpCallObject * self)
{
  wzp_call_hangup (self->call);
}

GstStructure *
gst_wzp_stats_new_empty (void)
{
  return gst_structure_new ("application/x-wzp-stats",
      "state", G_TYPE_STRING, "idle",
      "path", G_TYPE_STRING, "none",
      "rtt-ms", G_TYPE_DOUBLE, 0.0,
      "packets-sent", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "bytes-sent", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "packets-received", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "bytes-received", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "dropped-send", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "lost", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "late", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "duplicates", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "concealed", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "jitter-ms", G_TYPE_DOUBLE, 0.0,
      "latency-ms", G_TYPE_DOUBLE, 0.0,
      "forged", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "replayed", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "path-changes", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "setup-ms", G_TYPE_DOUBLE, 0.0,
      "relay-state", G_TYPE_STRING, "none",
      "relay-losses", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "relay-channel", G_TYPE_STRING, "off",
      "relay-channel-sent", G_TYPE_UINT64, G_GUINT64_CONSTANT (0),
      "relay-channel-received", G_TYPE_UINT64, G_GUINT64_CONSTANT (0), NULL);
}

GstStructure *
gst_wzp_call_object_get_stats (GstWzpCallObject * self)
{
  GstStructure *s = gst_wzp_stats_new_empty ();
  WzpCallStats st;
  GList *l;

  wzp_call_get_stats (self->call, &st);
  gst_structure_set (s,
      "state", G_TYPE_STRING, wzp_call_state_to_string (st.state),
      "path", G_TYPE_STRING, wzp_path_kind_to_string (st.path),
      "rtt-ms", G_TYPE_DOUBLE, st.rtt_ns / 1e6,
      "packets-sent", G_TYPE_UINT64, st.frames_sent,
      "bytes-sent", G_TYPE_UINT64, st.bytes_sent,
      "packets-received", G_TYPE_UINT64, st.frames_received,
      "bytes-received", G_TYPE_UINT64, st.bytes_received,
      "dropped-send", G_TYPE_UINT64, st.frames_dropped_send,
      "duplicates", G_TYPE_UINT64, st.duplicates,
      "forged", G_TYPE_UINT64, st.forged,
      "replayed", G_TYPE_UINT64, st.replayed,
      "path-changes", G_TYPE_UINT64, st.path_changes,
      "setup-ms", G_TYPE_DOUBLE, st.setup_ns / 1e6,
      "relay-state", G_TYPE_STRING, wzp_relay_state_to_string
      (st.relay_state), "relay-losses", G_TYPE_UINT64, st.relay_losses,
      "relay-channel", G_TYPE_STRING,
      wzp_relay_channel_state_to_string (st.relay_channel_state),
      "relay-channel-sent", G_TYPE_UINT64, st.relay_channel_sent,
      "relay-channel-received", G_TYPE_UINT64, st.relay_channel_received, NULL);

  g_mutex_lock (&self->lock);
  for (l = self->users; l; l = l->next) {
    CallUser *u = l->data;

    if (u->funcs.add_stats) {
      u->funcs.add_stats (s, u->user_data);
      break;
    }
  }
  g_mutex_unlock (&self->lock);
  return s;
}

/* -------------------------------------------------------------------------
 * Errors a user can act on
 */

GstWzpError *
gst_wzp_call_object_dup_error (GstWzpCallObject * self)
{
  GstWzpError *error;

  g_mutex_lock (&self->lock);
  error = self->error ? gst_wzp_error_copy (self->error) :
      call_error (NULL, NULL, &self->settings, __FILE__, GST_FUNCTION,
      __LINE__);
  g_mutex_unlock (&self->lock);
  return error;
}
