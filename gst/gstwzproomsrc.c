/* gstwzproomsrc.c — wzproomsrc: every member of a wzp room
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-wzproomsrc
 * @title: wzproomsrc
 * @see_also: wzpsrc, wzpsink, audiomixer, opusdec
 *
 * wzproomsrc joins an end-to-end encrypted wzp room (#GstWzpRoomSrc:room,
 * owned by #GstWzpRoomSrc:room-owner, with the owner's
 * #GstWzpRoomSrc:room-invite) and outputs what every member says.
 *
 * By default each admitted member gets a `src_FINGERPRINT` sometimes pad
 * (`pad-added` when the member is admitted, EOS then `pad-removed` when it
 * leaves, and a `wzp-room-member` element message each time) carrying its
 * Opus frames: its own jitter buffer, PTS on the pipeline clock (so the
 * members line up), GAP events for lost frames and for silence, each pad
 * on its own streaming thread.
 *
 * With #GstWzpRoomSrc:mix, it has one `src` pad instead: every member
 * decoded (opusdec, with loss concealment) and mixed by audiomixer in live
 * mode, which never waits for a silent or departed member.
 *
 * A wzpsink with the same settings (or #GstWzpRoomSrc:session) in the
 * process shares the membership: one registration, one set of keys.
 *
 * ## Examples
 * |[
 * gst-launch-1.0 -e wzproomsrc relay=HOST:4433 identity=me.key room=standup \
 *     room-owner=OWNER_FP room-invite=@me.invite mix=true ! audioconvert ! \
 *     opusenc ! oggmux ! filesink location=room.ogg
 * ]|
 * |[
 * gst-launch-1.0 -e wzproomsrc name=r relay=HOST:4433 identity=me.key \
 *     room=standup room-owner=OWNER_FP room-invite=@me.invite \
 *     r.src_ALICE_FP ! queue ! oggmux ! filesink location=alice.ogg
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzproomsrc.h"
#include "gstwzpcaps.h"
#include "gstwzplog.h"
#include "gstwzpobject.h"
#include "gstwzproomdemux.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_room_src_debug);
#define GST_CAT_DEFAULT gst_wzp_room_src_debug

#define DEFAULT_MIX FALSE
/* What the mixer waits, beyond the members' latency, for a member's
 * decoded frame before it mixes without it: the time to decode and to
 * get a streaming thread scheduled on a busy machine. */
#define MIX_LATENCY (40 * GST_MSECOND)

enum
{
  PROP_MIX = GST_WZP_PROP_LAST,
};

typedef struct
{
  GstElement *decoder;          /* mix: opusdec */
  GstPad *mixer_pad;            /* mix: the mixer's request pad */
  GstPad *ghost;                /* pads: our src_FP */
} Branch;

struct _GstWzpRoomSrc
{
  GstBin parent;

  /* the settings, and the call (which the demux acquires) */
  GstWzpObject *wzp;

  /* object lock */
  gboolean mix;

  /* constant after init */
  GstElement *demux;

  /* changed only in NULL/READY (mix) */
  GstElement *mixer;
  GstPad *mix_pad;

  GMutex branches_lock;
  GHashTable *branches;         /* demux pad -> Branch */
};

static GstStaticPadTemplate mix_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS ("audio/x-raw"));

#define gst_wzp_room_src_parent_class parent_class
G_DEFINE_TYPE (GstWzpRoomSrc, gst_wzp_room_src, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (wzproomsrc, "wzproomsrc",
    GST_RANK_NONE, GST_TYPE_WZP_ROOM_SRC, gst_wzp_log_init ());

/* -------------------------------------------------------------------------
 * Members coming and going (the demux's pad-added / pad-removed)
 */

static void
post_member (GstWzpRoomSrc * self, const gchar * event, const gchar * fp,
    const gchar * pad)
{
  GstStructure *s = gst_structure_new ("wzp-room-member",
      "event", G_TYPE_STRING, event,
      "fingerprint", G_TYPE_STRING, fp,
      "pad", G_TYPE_STRING, pad,
      "members", G_TYPE_UINT,
      gst_wzp_room_demux_get_n_members (GST_WZP_ROOM_DEMUX (self->demux)),
      NULL);

  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static GstPad *
request_mixer_pad (GstWzpRoomSrc * self)
{
  return gst_element_request_pad_simple (self->mixer, "sink_%u");
}

static void
on_demux_pad_added (GstElement * demux, GstPad * pad, GstWzpRoomSrc * self)
{
  const gchar *fp = gst_wzp_room_demux_pad_get_member (pad);
  Branch *b = g_new0 (Branch, 1);
  gboolean ok = TRUE;

  if (self->mixer && fp == NULL) {
    /* The anchor: raw GAPs straight into the mixer. */
    b->mixer_pad = request_mixer_pad (self);
    ok = gst_pad_link (pad, b->mixer_pad) == GST_PAD_LINK_OK;
  } else if (self->mixer) {
    GstPad *dec_sink, *dec_src;

    b->decoder = gst_element_factory_make ("opusdec", NULL);
    if (b->decoder == NULL) {
      GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
          ("mix=true needs opusdec (gst-plugins-base)"), (NULL));
      g_free (b);
      return;
    }
    g_object_set (b->decoder, "plc", TRUE, NULL);
    gst_bin_add (GST_BIN (self), b->decoder);
    b->mixer_pad = request_mixer_pad (self);
    dec_sink = gst_element_get_static_pad (b->decoder, "sink");
    dec_src = gst_element_get_static_pad (b->decoder, "src");
    ok = gst_pad_link (dec_src, b->mixer_pad) == GST_PAD_LINK_OK &&
        gst_element_sync_state_with_parent (b->decoder) &&
        gst_pad_link (pad, dec_sink) == GST_PAD_LINK_OK;
    gst_object_unref (dec_sink);
    gst_object_unref (dec_src);
  } else {
    GstPadTemplate *templ = gst_element_class_get_pad_template
        (GST_ELEMENT_GET_CLASS (self), "src_%s");

    b->ghost = gst_ghost_pad_new_from_template (GST_PAD_NAME (pad), pad, templ);
    gst_pad_set_active (b->ghost, TRUE);
    ok = gst_element_add_pad (GST_ELEMENT (self), b->ghost);
  }
  if (!ok)
    GST_ELEMENT_ERROR (self, CORE, PAD, ("Cannot link the stream of room "
            "member %s", fp ? fp : "(anchor)"), (NULL));
  g_mutex_lock (&self->branches_lock);
  g_hash_table_insert (self->branches, gst_object_ref (pad), b);
  g_mutex_unlock (&self->branches_lock);
  if (fp) {
    GST_INFO_OBJECT (self, "member %s joined%s%s", fp, b->ghost ? ": pad " :
        "", b->ghost ? GST_PAD_NAME (b->ghost) : "");
    post_member (self, "joined", fp, b->ghost ? GST_PAD_NAME (b->ghost) : NULL);
  }
}

static void
on_demux_pad_removed (GstElement * demux, GstPad * pad, GstWzpRoomSrc * self)
{
  const gchar *fp = gst_wzp_room_demux_pad_get_member (pad);
  gboolean left = gst_wzp_room_demux_pad_member_left (pad);
  gchar *ghost_name = NULL;
  Branch *b;

  g_mutex_lock (&self->branches_lock);
  b = g_hash_table_lookup (self->branches, pad);
  if (b)
    g_hash_table_steal (self->branches, pad);
  g_mutex_unlock (&self->branches_lock);
  if (b == NULL)
    return;
  if (b->ghost) {
    ghost_name = g_strdup (GST_PAD_NAME (b->ghost));
    gst_pad_set_active (b->ghost, FALSE);
    gst_element_remove_pad (GST_ELEMENT (self), b->ghost);
  }
  if (b->decoder) {
    gst_element_set_locked_state (b->decoder, TRUE);
    gst_element_set_state (b->decoder, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), b->decoder);
  }
  if (b->mixer_pad) {
    gst_element_release_request_pad (self->mixer, b->mixer_pad);
    gst_object_unref (b->mixer_pad);
  }
  /* Stopping removes every pad: only a departure is news. */
  if (fp && left) {
    GST_INFO_OBJECT (self, "member %s left", fp);
    post_member (self, "left", fp, ghost_name);
  }
  g_free (ghost_name);
  g_free (b);
  gst_object_unref (pad);
}

/* -------------------------------------------------------------------------
 * Mix mode: audiomixer and our "src" pad (NULL or READY only)
 */

static void
set_mix (GstWzpRoomSrc * self, gboolean mix)
{
  if (mix && !self->mixer) {
    GstPad *target;

    self->mixer = gst_element_factory_make ("audiomixer", "mixer");
    if (self->mixer == NULL) {
      GST_WARNING_OBJECT (self, "mix=true needs audiomixer "
          "(gst-plugins-base); no mix");
      return;
    }
    /* Live: output on time even without input; start with the first
     * input (the anchor), never wait for a pad that has no data yet. */
    g_object_set (self->mixer, "latency", (guint64) MIX_LATENCY,
        "ignore-inactive-pads", TRUE, NULL);
    gst_util_set_object_arg (G_OBJECT (self->mixer), "start-time-selection",
        "first");
    gst_bin_add (GST_BIN (self), self->mixer);
    target = gst_element_get_static_pad (self->mixer, "src");
    self->mix_pad = gst_ghost_pad_new_from_template ("src", target,
        gst_static_pad_template_get (&mix_template));
    gst_object_unref (target);
    gst_element_add_pad (GST_ELEMENT (self), self->mix_pad);
  } else if (!mix && self->mixer) {
    gst_element_remove_pad (GST_ELEMENT (self), self->mix_pad);
    self->mix_pad = NULL;
    gst_bin_remove (GST_BIN (self), self->mixer);
    self->mixer = NULL;
  }
}

/* -------------------------------------------------------------------------
 * GstElement
 */

static GstStateChangeReturn
gst_wzp_room_src_change_state (GstElement * element, GstStateChange transition)
{
  GstWzpRoomSrc *self = GST_WZP_ROOM_SRC (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GstWzpSettings settings;
    GstWzpError *error = NULL;
    gboolean mix;

    gst_wzp_object_get_settings (self->wzp, &settings);
    GST_OBJECT_LOCK (self);
    mix = self->mix;
    GST_OBJECT_UNLOCK (self);
    if (!settings.room && !settings.peer)
      error = gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
          "No room set: set room=NAME, room-owner=FINGERPRINT and "
          "room-invite=TOKEN (or room-open=true)");
    else if (settings.peer)
      error = gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
          "wzproomsrc joins rooms: for a call with peer=..., use wzpsrc");
    else if (mix && !self->mixer)
      error = gst_wzp_error_new_full (GST_CORE_ERROR,
          GST_CORE_ERROR_MISSING_PLUGIN, __FILE__, GST_FUNCTION, __LINE__,
          NULL, "mix=true needs audiomixer (gst-plugins-base)");
    gst_wzp_settings_clear (&settings);
    if (error) {
      gst_wzp_error_post (element, error);
      gst_wzp_error_free (error);
      return GST_STATE_CHANGE_FAILURE;
    }
    /* The demux checks the settings and joins when it starts. */
    gst_wzp_room_demux_configure (GST_WZP_ROOM_DEMUX (self->demux), self->wzp,
        mix);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_room_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstWzpRoomSrc *self = GST_WZP_ROOM_SRC (object);

  if (gst_wzp_object_set_property (self->wzp, prop_id, value))
    return;
  if (prop_id == PROP_MIX) {
    GST_OBJECT_LOCK (self);
    self->mix = g_value_get_boolean (value);
    GST_OBJECT_UNLOCK (self);
    set_mix (self, g_value_get_boolean (value));
    return;
  }
  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_wzp_room_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstWzpRoomSrc *self = GST_WZP_ROOM_SRC (object);

  if (gst_wzp_object_get_property (self->wzp, prop_id, value))
    return;
  if (prop_id == PROP_MIX) {
    GST_OBJECT_LOCK (self);
    g_value_set_boolean (value, self->mix);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_wzp_room_src_finalize (GObject * object)
{
  GstWzpRoomSrc *self = GST_WZP_ROOM_SRC (object);

  g_hash_table_unref (self->branches);
  g_mutex_clear (&self->branches_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_wzp_room_src_class_init (GstWzpRoomSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_room_src_debug, "wzproomsrc", 0,
      "wzp room source");

  /* The connection settings, the call's properties, latency and
   * max-latency (of each member), documented in gstwzpobject.c; then our
   * own. */
  gst_wzp_object_class_init (klass, GST_WZP_OBJECT_RECEIVES);
  gobject_class->set_property = gst_wzp_room_src_set_property;
  gobject_class->get_property = gst_wzp_room_src_get_property;
  gobject_class->finalize = gst_wzp_room_src_finalize;

  /**
   * GstWzpRoomSrc:mix:
   *
   * One `src` pad with every member decoded and mixed (raw audio, live:
   * a silent or departed member never holds the others up) instead of a
   * `src_FINGERPRINT` pad per member.
   */
  g_object_class_install_property (gobject_class, PROP_MIX,
      g_param_spec_boolean ("mix", "Mix",
          "One src pad with every member decoded and mixed, instead of a "
          "src_FINGERPRINT pad of Opus per member", DEFAULT_MIX,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_pad_template (element_class,
      gst_wzp_opus_pad_template_new ("src_%s", GST_PAD_SRC, GST_PAD_SOMETIMES));
  gst_element_class_add_static_pad_template (element_class, &mix_template);
  gst_element_class_set_static_metadata (element_class, "wzp room source",
      "Source/Network/Audio",
      "Every member of an end-to-end encrypted wzp room: a pad of Opus per "
      "member, or one mixed stream", "wzp developers <wzp@example.invalid>");
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_wzp_room_src_change_state);
}

static void
gst_wzp_room_src_init (GstWzpRoomSrc * self)
{
  self->wzp = gst_wzp_object_new (GST_ELEMENT (self));
  g_mutex_init (&self->branches_lock);
  self->branches = g_hash_table_new (NULL, NULL);
  self->demux = g_object_new (GST_TYPE_WZP_ROOM_DEMUX, "name", "members", NULL);
  gst_bin_add (GST_BIN (self), self->demux);
  g_signal_connect (self->demux, "pad-added", G_CALLBACK (on_demux_pad_added),
      self);
  g_signal_connect (self->demux, "pad-removed",
      G_CALLBACK (on_demux_pad_removed), self);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
