/* wzp call — a headless call party for tests, benchmarks and debugging
 *
 * Places a call (--peer), waits for one (no --peer), or joins a room
 * (--room); sends Opus-sized frames at 50 per second; and when it ends
 * prints one JSON object on stdout describing what happened:
 *
 *   { "state": "ended", "error": null, "fingerprint": ..., "peer": ...,
 *     "active_ms": T(start→active), "first_media_ms": T(active→first frame),
 *     "direct_ms": T(active→path direct) or null,
 *     "first_direct_media_ms": T(active→first frame received direct) or null,
 *     "end_ms": T(active→hang-up, end or stop), "active_mono_ms": the
 *     absolute CLOCK_MONOTONIC time of active, "final_path": "direct",
 *     "registered_ms": T(start→registered with the relay),
 *     "placed_ms": T(start→offer sent; caller only) or null,
 *     "start_mono_us": start on CLOCK_MONOTONIC (to line up processes),
 *     "frames_sent": N, "frames_received": N, "received_relay": N,
 *     "received_direct": N, "max_gap_ms": G, "gaps": [[at_ms, gap_ms]...],
 *     "paths": [[at_ms, "relay", reason]...], "rtt_ms": R,
 *     "relay_states": [[ms since start, "lost", reason]...],
 *     with --answer-delay: "answered_mono_ms" (CLOCK_MONOTONIC of the
 *     answer) or null,
 *     "relay_losses": N, "error_detail": libwzp's message or null,
 *     "relay_channel": {"state": "up"|"down"|..., "sent": N, "received": N,
 *                       "downs": N}   (media on the relay's media channel),
 *     rooms only: "room_members": [fp...] (admitted, at the end),
 *     "room_senders": {fp: frames received}, "rekeys": [{"at_ms", "reason",
 *     "ms" (membership change to switch), "acked", "members"}...],
 *     with --report-keys: "room_keys": ["hex of key||iv||stream"...] (every
 *     sender key made or received: for tests of what the relay sees) }
 *
 * Times are milliseconds on the monotonic clock; "at" is since active.
 * "error" is the text a user can act on, the same the GStreamer elements
 * post; "error_detail" says what libwzp saw.
 * "gaps" lists every pause of at least 100 ms between frames received,
 * including one still open when the call ended (trailing silence; with
 * no frame at all, the whole active time); "max_gap_ms" is the longest.
 *
 * Exit status: 0 the call was active and ended (hung up by either side,
 * --duration, the peer gone); 1 it failed or never became active (relay
 * unreachable or lost, peer offline, busy, rejected, no answer, not
 * active within --timeout...); 2 bad arguments or settings; 3 the relay
 * refused us, is not the pinned --relay-fingerprint, or this identity
 * registered elsewhere.  --timeout only bounds the time to become active:
 * an active call goes on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "wzp-call.h"
#include "wzp-channel.h"
#include "wzp-call-private.h"
#include "wzp-tool.h"
#include "wzp-log-private.h"

#define FRAME_INTERVAL_MS 20
#define FRAME_BYTES 80
/* Gaps longer than this are listed individually. */
#define GAP_REPORT_MS 100

typedef struct
{
  WzpCall *call;
  GMainLoop *loop;
  gint64 started;
  gint64 registered_at;
  gint64 placed_at;
  gint64 active_at;
  gint64 first_media_at;
  gint64 direct_at;
  gint64 first_direct_media_at;
  gint64 end_at;
  gint64 last_frame_at;
  gint64 max_gap;
  guint64 sent;
  guint64 received;
  guint64 received_by_path[3];
  guint32 seq;
  gint duration_s;
  gint hangup_after_s;
  gint answer_delay_ms;
  gint64 answered_at;
  char *answering;              /* the call id to answer after the delay */
  gint timeout_s;
  gboolean timed_out;           /* not active within --timeout */
  JsonArray *gaps;
  JsonArray *paths;
  JsonArray *relay_states;
  GError *error;
  WzpCallState final_state;
  GSource *send_timer;
  GHashTable *room_senders;     /* fingerprint -> frames */
  GHashTable *room_members;     /* fingerprint (set) */
  JsonArray *rekeys;
  JsonArray *room_keys;         /* with --report-keys */
} CallRun;

/* The moment the caller sends its offer is logged by the call object
 * ("calling FP (call ID)" at INFO); a log handler notes it, so the report
 * can separate registration from the call itself.  Messages the user
 * asked for (WZP_DEBUG) are still printed. */
static gint64 offer_sent_at;
static gint user_call_threshold;

static void
tool_log_handler (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, GObject * object,
    const char *message, gpointer user_data)
{
  if (category == &wzp_cat_call && level == WZP_LOG_INFO &&
      offer_sent_at == 0 && g_str_has_prefix (message, "calling "))
    offer_sent_at = g_get_monotonic_time ();
  if (category == &wzp_cat_call && (gint) level > user_call_threshold)
    return;
  g_printerr ("%s %s %s:%d:%s %s\n", wzp_log_level_name (level),
      category->name, file, line, function, message);
}

static gint64
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000;
}

/* A pause in what we receive, from @from to @to (monotonic us). */
static void
note_gap (CallRun * r, gint64 from, gint64 to)
{
  gint64 gap = (to - from) / 1000;

  if (gap > r->max_gap)
    r->max_gap = gap;
  if (gap >= GAP_REPORT_MS) {
    JsonArray *g = json_array_new ();
    json_array_add_int_element (g, (to - r->active_at) / 1000);
    json_array_add_int_element (g, gap);
    json_array_add_array_element (r->gaps, g);
  }
}

static void
on_frame (const WzpCallFrame * frame, gpointer user_data)
{
  CallRun *r = user_data;
  gint64 now = g_get_monotonic_time ();

  if (r->first_media_at == 0)
    r->first_media_at = now;
  if (r->first_direct_media_at == 0 && frame->path == WZP_PATH_DIRECT)
    r->first_direct_media_at = now;
  if (r->last_frame_at)
    note_gap (r, r->last_frame_at, now);
  r->last_frame_at = now;
  r->received++;
  if (r->room_senders && frame->sender) {
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (r->room_senders,
            frame->sender));
    g_hash_table_insert (r->room_senders, g_strdup (frame->sender),
        GUINT_TO_POINTER (n + 1));
  }
  if (frame->path <= WZP_PATH_DIRECT)
    r->received_by_path[frame->path]++;
}

static gboolean
send_tick (gpointer user_data)
{
  CallRun *r = user_data;
  guint8 buf[FRAME_BYTES];

  memset (buf, 0xa5, sizeof buf);
  memcpy (buf, &r->seq, sizeof r->seq);
  if (wzp_call_send_frame (r->call, r->seq * 960, r->seq == 0, buf, sizeof buf)) {
    r->seq++;
    r->sent++;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
stop_loop (gpointer user_data)
{
  CallRun *r = user_data;

  if (r->end_at == 0)
    r->end_at = g_get_monotonic_time ();
  g_main_loop_quit (r->loop);
  return G_SOURCE_REMOVE;
}

/* --timeout: a call that is not active by then is given up (hung up, exit
 * 1); an active one goes on, until hung up or --duration. */
static gboolean
active_timeout (gpointer user_data)
{
  CallRun *r = user_data;

  if (r->active_at != 0 || r->end_at != 0)
    return G_SOURCE_REMOVE;
  g_printerr ("wzp call: not active within %d s (--timeout): giving up\n",
      r->timeout_s);
  r->timed_out = TRUE;
  r->end_at = g_get_monotonic_time ();
  wzp_call_hangup (r->call);
  g_timeout_add (300, stop_loop, r);
  return G_SOURCE_REMOVE;
}

static gboolean
hangup_now (gpointer user_data)
{
  CallRun *r = user_data;

  if (r->end_at == 0)
    r->end_at = g_get_monotonic_time ();
  wzp_call_hangup (r->call);
  return G_SOURCE_REMOVE;
}

static void
on_state (WzpCall * call, WzpCallState state, GError * reason,
    gpointer user_data)
{
  CallRun *r = user_data;

  g_printerr ("wzp call: %s%s%s\n", wzp_call_state_to_string (state),
      reason ? ": " : "", reason ? reason->message : "");
  r->final_state = state;
  if (r->registered_at == 0 && (state == WZP_CALL_STATE_WAITING ||
          state == WZP_CALL_STATE_RINGING))
    r->registered_at = g_get_monotonic_time ();
  if (state == WZP_CALL_STATE_ACTIVE && r->active_at == 0) {
    r->active_at = g_get_monotonic_time ();
    r->send_timer = g_timeout_source_new (FRAME_INTERVAL_MS);
    g_source_set_callback (r->send_timer, send_tick, r, NULL);
    g_source_attach (r->send_timer, NULL);
    /* A live source has a frame ready at any moment: send the first one
     * now rather than one interval late, so first_media_ms measures the
     * path, not the timer. */
    send_tick (r);
    if (r->duration_s > 0)
      g_timeout_add_seconds (r->duration_s, stop_loop, r);
    if (r->hangup_after_s > 0)
      g_timeout_add_seconds (r->hangup_after_s, hangup_now, r);
  }
  if (state == WZP_CALL_STATE_ENDED || state == WZP_CALL_STATE_FAILED) {
    if (r->end_at == 0)
      r->end_at = g_get_monotonic_time ();
    if (state == WZP_CALL_STATE_FAILED && reason)
      r->error = g_error_copy (reason);
    /* Let a last path report or hang-up settle. */
    g_timeout_add (300, stop_loop, r);
  }
}

static void
on_path (WzpCall * call, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  CallRun *r = user_data;
  JsonArray *p = json_array_new ();

  g_printerr ("wzp call: path %s (%s)\n", wzp_path_kind_to_string (path),
      reason);
  if (path == WZP_PATH_DIRECT && r->direct_at == 0)
    r->direct_at = g_get_monotonic_time ();
  json_array_add_int_element (p, r->active_at ? ms_since (r->active_at) : 0);
  json_array_add_string_element (p, wzp_path_kind_to_string (path));
  json_array_add_string_element (p, reason);
  json_array_add_array_element (r->paths, p);
}

static void
on_member_joined (WzpCall * call, const char *fp, gpointer user_data)
{
  CallRun *r = user_data;

  g_printerr ("wzp call: room member %s joined\n", fp);
  g_hash_table_add (r->room_members, g_strdup (fp));
}

static void
on_member_left (WzpCall * call, const char *fp, gpointer user_data)
{
  CallRun *r = user_data;

  g_printerr ("wzp call: room member %s left\n", fp);
  g_hash_table_remove (r->room_members, fp);
}

static void
on_rekeyed (WzpCall * call, const char *reason, guint stream, guint64 took,
    guint acked, guint members, gpointer user_data)
{
  CallRun *r = user_data;
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "at_ms", r->active_at ?
      ms_since (r->active_at) : 0);
  json_object_set_string_member (o, "reason", reason);
  json_object_set_double_member (o, "ms", took / 1e6);
  json_object_set_int_member (o, "acked", acked);
  json_object_set_int_member (o, "members", members);
  json_array_add_object_element (r->rekeys, o);
}

static void
on_room_key (const char *owner, const WzpMediaKey * key, gpointer user_data)
{
  CallRun *r = user_data;
  guint8 bytes[WZP_MEDIA_KEY_BYTES];
  g_autoptr (GString) hex = g_string_new (NULL);

  wzp_media_key_to_bytes (key, bytes);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  memset (bytes, 0, sizeof bytes);
  json_array_add_string_element (r->room_keys, hex->str);
}

static void
on_relay_state (WzpCall * call, WzpRelayState state, GError * reason,
    gpointer user_data)
{
  CallRun *r = user_data;
  JsonArray *a = json_array_new ();

  g_printerr ("wzp call: relay %s%s%s\n", wzp_relay_state_to_string (state),
      reason ? ": " : "", reason ? reason->message : "");
  json_array_add_int_element (a, ms_since (r->started));
  json_array_add_string_element (a, wzp_relay_state_to_string (state));
  if (reason)
    json_array_add_string_element (a, reason->message);
  else
    json_array_add_null_element (a);
  json_array_add_array_element (r->relay_states, a);
}

static gboolean
answer_now (gpointer user_data)
{
  CallRun *r = user_data;

  if (r->answering && wzp_call_answer (r->call, r->answering))
    r->answered_at = g_get_monotonic_time ();
  g_clear_pointer (&r->answering, g_free);
  return G_SOURCE_REMOVE;
}

/* --answer-delay: the user picks up after a while. */
static void
on_incoming (WzpCall * call, const char *caller, const char *call_id,
    gpointer user_data)
{
  CallRun *r = user_data;

  g_free (r->answering);
  r->answering = g_strdup (call_id);
  g_timeout_add (r->answer_delay_ms, answer_now, r);
}

static gboolean
on_unix_signal (gpointer user_data)
{
  CallRun *r = user_data;

  wzp_call_hangup (r->call);
  g_timeout_add (300, stop_loop, r);
  return G_SOURCE_REMOVE;
}

static void
print_report (CallRun * r, WzpIdentity * id, const char *relay,
    const char *error_text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  WzpCallStats st;

  /* Silence still going on at the end is a gap too: an outage must not
   * hide at the end of a call. */
  if (r->active_at && r->end_at)
    note_gap (r, r->last_frame_at ? r->last_frame_at : r->active_at, r->end_at);

  wzp_call_get_stats (r->call, &st);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, wzp_call_state_to_string (r->final_state));
  json_builder_set_member_name (b, "error");
  if (error_text)
    json_builder_add_string_value (b, error_text);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "error_detail");
  if (r->error)
    json_builder_add_string_value (b, r->error->message);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "fingerprint");
  json_builder_add_string_value (b, wzp_identity_get_fingerprint (id));
  json_builder_set_member_name (b, "peer");
  json_builder_add_string_value (b, wzp_call_get_peer_fingerprint (r->call));
#define MS_OR_NULL(name, t, base) G_STMT_START {                          \
    json_builder_set_member_name (b, name);                             \
    if ((t) && (base))                                                  \
      json_builder_add_double_value (b, ((t) - (base)) / 1000.0);       \
    else                                                                \
      json_builder_add_null_value (b);                                  \
  } G_STMT_END
  MS_OR_NULL ("active_ms", r->active_at, r->started);
  MS_OR_NULL ("first_media_ms", r->first_media_at, r->active_at);
  MS_OR_NULL ("direct_ms", r->direct_at, r->active_at);
  MS_OR_NULL ("first_direct_media_ms", r->first_direct_media_at, r->active_at);
  MS_OR_NULL ("end_ms", r->end_at, r->active_at);
  /* Absolute CLOCK_MONOTONIC time of active, so parties on one host (in
   * different network namespaces) can be compared. */
  json_builder_set_member_name (b, "active_mono_ms");
  if (r->active_at)
    json_builder_add_double_value (b, r->active_at / 1000.0);
  else
    json_builder_add_null_value (b);
  MS_OR_NULL ("registered_ms", r->registered_at, r->started);
  MS_OR_NULL ("placed_ms", offer_sent_at, r->started);
#undef MS_OR_NULL
  json_builder_set_member_name (b, "start_mono_us");
  json_builder_add_int_value (b, r->started);
  json_builder_set_member_name (b, "final_path");
  json_builder_add_string_value (b, wzp_path_kind_to_string (st.path));
  json_builder_set_member_name (b, "frames_sent");
  json_builder_add_int_value (b, r->sent);
  json_builder_set_member_name (b, "frames_received");
  json_builder_add_int_value (b, r->received);
  json_builder_set_member_name (b, "received_relay");
  json_builder_add_int_value (b, r->received_by_path[WZP_PATH_RELAY]);
  json_builder_set_member_name (b, "received_direct");
  json_builder_add_int_value (b, r->received_by_path[WZP_PATH_DIRECT]);
  json_builder_set_member_name (b, "frames_dropped_send");
  json_builder_add_int_value (b, st.frames_dropped_send);
  json_builder_set_member_name (b, "duplicates");
  json_builder_add_int_value (b, st.duplicates);
  json_builder_set_member_name (b, "forged");
  json_builder_add_int_value (b, st.forged);
  json_builder_set_member_name (b, "rtt_ms");
  json_builder_add_double_value (b, st.rtt_ns / 1e6);
  json_builder_set_member_name (b, "max_gap_ms");
  json_builder_add_int_value (b, r->max_gap);
  json_builder_set_member_name (b, "gaps");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (),
          r->gaps));
  json_builder_set_member_name (b, "paths");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (),
          r->paths));
  if (r->room_members) {
    GHashTableIter it;
    gpointer key, value;

    json_builder_set_member_name (b, "room_members");
    json_builder_begin_array (b);
    g_hash_table_iter_init (&it, r->room_members);
    while (g_hash_table_iter_next (&it, &key, NULL))
      json_builder_add_string_value (b, key);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "room_senders");
    json_builder_begin_object (b);
    g_hash_table_iter_init (&it, r->room_senders);
    while (g_hash_table_iter_next (&it, &key, &value)) {
      json_builder_set_member_name (b, key);
      json_builder_add_int_value (b, GPOINTER_TO_UINT (value));
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "rekeys");
    json_builder_add_value (b, json_node_init_array (json_node_alloc (),
            r->rekeys));
  }
  if (r->room_keys) {
    json_builder_set_member_name (b, "room_keys");
    json_builder_add_value (b, json_node_init_array (json_node_alloc (),
            r->room_keys));
  }
  json_builder_set_member_name (b, "relay_states");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (),
          r->relay_states));
  json_builder_set_member_name (b, "relay_losses");
  json_builder_add_int_value (b, st.relay_losses);
  if (r->answer_delay_ms > 0) {
    json_builder_set_member_name (b, "answered_mono_ms");
    if (r->answered_at)
      json_builder_add_double_value (b, r->answered_at / 1000.0);
    else
      json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "relay_channel");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b,
      wzp_relay_channel_state_to_string (st.relay_channel_state));
  json_builder_set_member_name (b, "sent");
  json_builder_add_int_value (b, st.relay_channel_sent);
  json_builder_set_member_name (b, "received");
  json_builder_add_int_value (b, st.relay_channel_received);
  json_builder_set_member_name (b, "downs");
  json_builder_add_int_value (b, st.relay_channel_downs);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

/* The exit status for a call's end (see the top of this file). */
static int
exit_status (CallRun * r)
{
  if (r->final_state == WZP_CALL_STATE_FAILED && r->error &&
      r->error->domain == WZP_CALL_ERROR) {
    switch (r->error->code) {
      case WZP_CALL_ERROR_RELAY_REFUSED:
      case WZP_CALL_ERROR_RELAY_IDENTITY:
      case WZP_CALL_ERROR_SUPERSEDED:
        return 3;
      case WZP_CALL_ERROR_INVALID_SETTINGS:
        return 2;
      default:
        return 1;
    }
  }
  return (r->final_state == WZP_CALL_STATE_FAILED || r->active_at == 0) ? 1 : 0;
}

int
wzp_tool_cmd_call (int argc, char **argv)
{
  g_autofree char *relay = NULL;
  g_autofree char *relay_fp = NULL;
  g_autofree char *identity_path = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *room = NULL;
  g_autofree char *room_owner = NULL;
  g_autofree char *room_invite = NULL;
  gboolean room_open = FALSE;
  gboolean report_keys = FALSE;
  g_autofree char *answer = NULL;
  g_autofree char *policy = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *relay_order = NULL;
  gint timeout_s = 30;
  gboolean no_early = FALSE;
  gint nat_spray = 0;
  CallRun r = { 0 };
  GOptionEntry entries[] = {
    {"relay", 'r', 0, G_OPTION_ARG_STRING, &relay,
        "Relay address HOST:PORT (default 127.0.0.1:4433), or the relays "
          "of a cluster: HOST:PORT,HOST:PORT,...", "ADDRS"},
    {"relay-order", 0, 0, G_OPTION_ARG_STRING, &relay_order,
        "Which relay of a list first: hash (default: spread clients by "
          "identity) or listed (in the order given)", "ORDER"},
    {"relay-fingerprint", 0, 0, G_OPTION_ARG_STRING, &relay_fp,
        "Refuse a relay with another identity", "FP"},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
          "Identity file (created if missing; default: a new identity)",
        "FILE"},
    {"peer", 'p', 0, G_OPTION_ARG_STRING, &peer,
        "Fingerprint to call (default: wait for a call)", "FP"},
    {"room", 0, 0, G_OPTION_ARG_STRING, &room, "Join this room", "NAME"},
    {"room-owner", 0, 0, G_OPTION_ARG_STRING, &room_owner,
        "Fingerprint of the room's owner (who admits members)", "FP"},
    {"room-invite", 0, 0, G_OPTION_ARG_STRING, &room_invite,
          "The owner's invitation for us (token from `wzp invite`, or @FILE)",
        "TOKEN"},
    {"room-open", 0, 0, G_OPTION_ARG_NONE, &room_open,
        "Join a room without owner (the relay can read it)", NULL},
    {"report-keys", 0, 0, G_OPTION_ARG_NONE, &report_keys,
        "Tests only: list every room sender key in the report", NULL},
    {"answer", 'a', 0, G_OPTION_ARG_STRING, &answer,
        "auto, reject, or ask: let an incoming call ring, unanswered, "
          "until the caller or the relay's ring timeout ends it (default "
          "auto)", "POLICY"},
    {"nat-spray", 0, 0, G_OPTION_ARG_INT, &nat_spray,
        "Symmetric-NAT moonshot: ports of such a peer to punch per race "
          "(default 0: off; see WzpCall:nat-spray)", "N"},
    {"no-early-start", 0, 0, G_OPTION_ARG_NONE, &no_early,
        "Race the direct path only after the relay's call-setup, also on a "
          "LAN (tests)", NULL},
    {"path-policy", 0, 0, G_OPTION_ARG_STRING, &policy,
        "auto, direct-only or relay-only (default auto)", "POLICY"},
    {"bind", 'b', 0, G_OPTION_ARG_STRING, &bind,
        "Local IP:PORT (default any)", "ADDR"},
    {"duration", 'd', 0, G_OPTION_ARG_INT, &r.duration_s,
          "Seconds of media once active, then exit (default: until hung up)",
        "S"},
    {"answer-delay", 0, 0, G_OPTION_ARG_INT, &r.answer_delay_ms,
        "Answer an incoming call this many ms after it rings", "MS"},
    {"hangup-after", 0, 0, G_OPTION_ARG_INT, &r.hangup_after_s,
        "Hang up this many seconds after the call is active", "S"},
    {"timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
        "Give up a call that is not active within S seconds (default 30; "
          "an active call goes on)", "S"},
    {NULL}
  };
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *error_text = NULL;
  WzpPathPolicy path_policy;
  int rc;

  if (!wzp_tool_parse (entries, "- place, answer or join a call and report "
          "what happened as JSON", &argc, &argv))
    return 2;
  /* Defaults after parsing: GOption overwrites a preset string without
   * freeing it. */
  if (policy == NULL)
    policy = g_strdup ("auto");
  if (answer == NULL)
    answer = g_strdup ("auto");
  if (relay == NULL)
    relay = g_strdup ("127.0.0.1:4433");
  if (!wzp_path_policy_from_string (policy, &path_policy)) {
    g_printerr ("wzp call: unknown path policy '%s'\n", policy);
    return 2;
  }
  if (!g_str_equal (answer, "auto") && !g_str_equal (answer, "reject") &&
      !g_str_equal (answer, "ask")) {
    g_printerr ("wzp call: --answer is auto, reject or ask, not '%s'\n",
        answer);
    return 2;
  }
  if (relay_order && !g_str_equal (relay_order, "hash") &&
      !g_str_equal (relay_order, "listed")) {
    g_printerr ("wzp call: --relay-order is hash or listed, not '%s'\n",
        relay_order);
    return 2;
  }
  if (!(id = wzp_tool_load_identity (identity_path, &error)))
    return wzp_tool_fail (error);

  user_call_threshold = g_atomic_int_get (&wzp_cat_call.threshold);
  if (user_call_threshold < WZP_LOG_INFO)
    wzp_log_set_threshold ("wzpcall", WZP_LOG_INFO);
  wzp_log_set_handler (tool_log_handler, NULL);
  r.gaps = json_array_new ();
  r.paths = json_array_new ();
  r.relay_states = json_array_new ();
  r.call = wzp_call_new (NULL, id, relay);
  g_object_set (r.call, "relay-fingerprint", relay_fp, "peer", peer, "room",
      room, "room-owner", room_owner, "room-invite", room_invite,
      "room-open", room_open, "bind-address", bind, "path-policy", path_policy,
      "relay-selection", g_strcmp0 (relay_order, "listed") == 0 ?
      WZP_RELAY_SELECTION_LISTED : WZP_RELAY_SELECTION_HASH,
      "answer-policy", g_str_equal (answer, "reject") ?
      WZP_ANSWER_POLICY_REJECT : g_str_equal (answer, "ask") ||
      r.answer_delay_ms > 0 ? WZP_ANSWER_POLICY_ASK : WZP_ANSWER_POLICY_AUTO,
      NULL);
  if (r.answer_delay_ms > 0)
    g_signal_connect (r.call, "incoming-call", G_CALLBACK (on_incoming), &r);
  if (no_early)
    _wzp_call_set_early_start (r.call, FALSE);
  g_object_set (r.call, "nat-spray", (guint) CLAMP (nat_spray, 0, 65536), NULL);
  wzp_call_set_frame_handler (r.call, on_frame, &r, NULL);
  g_signal_connect (r.call, "state-changed", G_CALLBACK (on_state), &r);
  g_signal_connect (r.call, "path-changed", G_CALLBACK (on_path), &r);
  if (room) {
    r.room_senders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
    r.room_members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
    r.rekeys = json_array_new ();
    g_signal_connect (r.call, "room-member-joined",
        G_CALLBACK (on_member_joined), &r);
    g_signal_connect (r.call, "room-member-left", G_CALLBACK (on_member_left),
        &r);
    g_signal_connect (r.call, "room-rekeyed", G_CALLBACK (on_rekeyed), &r);
  }
  g_signal_connect (r.call, "relay-state-changed", G_CALLBACK (on_relay_state),
      &r);
  r.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_unix_signal, &r);
  g_unix_signal_add (SIGTERM, on_unix_signal, &r);
  r.started = g_get_monotonic_time ();
  if (!wzp_call_start (r.call, &error)) {
    g_autofree char *msg = wzp_call_error_describe (error, relay, peer);
    rc = g_error_matches (error, WZP_CALL_ERROR,
        WZP_CALL_ERROR_INVALID_SETTINGS) ? 2 : 1;
    g_printerr ("wzp call: %s\n", msg);
    g_signal_handlers_disconnect_by_data (r.call, &r);
    g_object_unref (r.call);
    g_main_loop_unref (r.loop);
    json_array_unref (r.gaps);
    json_array_unref (r.paths);
    json_array_unref (r.relay_states);
    g_clear_pointer (&r.room_senders, g_hash_table_unref);
    g_clear_pointer (&r.room_members, g_hash_table_unref);
    g_clear_pointer (&r.rekeys, json_array_unref);
    return rc;
  }
  g_printerr ("wzp call: we are %s\n", wzp_identity_get_fingerprint (id));
  if (room && report_keys) {
    r.room_keys = json_array_new ();
    _wzp_call_set_room_key_func (r.call, on_room_key, &r);
  }
  r.timeout_s = timeout_s;
  if (timeout_s > 0 && peer)
    g_timeout_add_seconds (timeout_s, active_timeout, &r);
  g_main_loop_run (r.loop);

  if (r.error)
    error_text = wzp_call_error_describe (r.error, relay, peer ? peer :
        wzp_call_get_peer_fingerprint (r.call));
  else if (r.timed_out)
    error_text = g_strdup_printf ("The call was not active within %d s "
        "(--timeout)", timeout_s);
  else if (r.active_at == 0)
    error_text = g_strdup ("The call never became active");
  print_report (&r, id, relay, error_text);
  wzp_log_set_handler (NULL, NULL);
  rc = exit_status (&r);
  if (error_text)
    g_printerr ("wzp call: %s (exit %d)\n", error_text, rc);
  if (r.send_timer) {
    g_source_destroy (r.send_timer);
    g_source_unref (r.send_timer);
  }
  g_signal_handlers_disconnect_by_data (r.call, &r);
  wzp_call_set_frame_handler (r.call, NULL, NULL, NULL);
  g_object_unref (r.call);
  g_main_loop_unref (r.loop);
  json_array_unref (r.gaps);
  json_array_unref (r.paths);
  g_clear_pointer (&r.room_senders, g_hash_table_unref);
  g_clear_pointer (&r.room_members, g_hash_table_unref);
  g_clear_pointer (&r.rekeys, json_array_unref);
  g_clear_pointer (&r.room_keys, json_array_unref);
  json_array_unref (r.relay_states);
  g_clear_error (&r.error);
  g_free (r.answering);
  return rc;
}
