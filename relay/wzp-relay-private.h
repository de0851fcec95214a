/* wzp — relay internals shared by wzp-relay*.c
 *
 * The core (wzp-relay.c: the object, connections, registration, message
 * dispatch) owns everything here and calls its helpers; the helpers
 * (registry, calls, rooms, probes, metrics, limits, deadlines) call
 * wzp-relay-registry.c and each other's leaves, never back into the core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-relay.h"
#include "wzp-message.h"
#include "wzp-call-proof.h"
#include "wzp-address.h"
#include "wzp-source.h"
#include "wzp-relay-limits.h"
#include "wzp-relay-deadlines.h"
#include "wzp-relay-legs.h"
#include "wzp-relay-media.h"
#include "wzp-channel.h"

G_BEGIN_DECLS

/* One signaling connection. */
typedef struct
{
  WzpRelay *relay;
  WzpConnection *conn;
  char *fp;                     /* proven by the TLS client certificate */
  guint8 public_key[WZP_PUBLIC_KEY_LEN];
  guint8 challenge[WZP_CHALLENGE_LEN];
  char observed[WZP_ADDR_STRLEN];
  gboolean registered;          /* the current registration of fp */
  /* NAT mapping learnt from this connection's NAT probe: "eim" when the
   * probe packet came from the signaling address, "edm" when not,
   * "unknown" before a probe arrived (static strings). */
  const char *nat;
  gboolean superseded;
  gboolean refused;
  /* Limits (wzp-relay-limits.h): where it comes from, whether its
   * registration counts against that source, its place in the
   * registration deadline queue, its message budget. */
  WzpSource source;
  gboolean counted;
  gpointer deadline;
  RelayRate rate;
  guint64 rate_error_at;
  gulong message_id;
  gulong too_large_id;
  gulong closed_id;
  /* Cluster (docs/CLUSTER.md).  A stub: a client of another node whose
   * request that node routed here (conn is NULL; replies go back through
   * the bus); its RTT to its own node. */
  char *remote_node;
  guint64 remote_rtt;
  /* A media leg: it carries the media of its fingerprint's calls and
   * rooms hosted here, and is not that fingerprint's registration. */
  gboolean media_leg;
  /* We closed it to move it (draining), or another node took over its
   * registration: its calls and rooms move, they do not end. */
  gboolean moved;
  /* Its presence is in Redis (FALSE while Redis was away). */
  gboolean announced;
  /* How long it has been silent (watch_silence in wzp-relay.c). */
  WzpConnectionSilence silence;
} RelayClient;

typedef enum
{
  CHANNEL_CALL,
  CHANNEL_ROOM,
} ChannelKind;

/* First member of RelayCall and RelayRoom: what a media channel id
 * names. */
typedef struct
{
  ChannelKind kind;
  guint32 id;
} RelayChannel;

typedef enum
{
  CALL_RINGING,
  CALL_ACTIVE,
  /* Re-created from one party's resume-call (we restarted, or the call
   * had ended with peer-gone): waits for the other party's. */
  CALL_RESUMING,
} CallState;

typedef struct
{
  RelayChannel channel;
  WzpRelay *relay;
  char *id;
  char *caller;
  char *callee;
  guint8 caller_key[WZP_PUBLIC_KEY_LEN];
  guint8 callee_key[WZP_PUBLIC_KEY_LEN];
  JsonObject *offer;
  JsonObject *answer;
  CallState state;
  WzpCallProof proof;           /* CALL_RESUMING: what the first asked with */
  gboolean proof_by_caller;     /* ... and whether the caller asked first */
  GSource *ring_timer;          /* also the resume deadline */
  GSource *setup_timer;
  char *pending_to;
  JsonObject *pending_setup;
  /* Where media for caller and callee goes (their registration here,
   * else their media leg here) and what may send it (registration and
   * leg), resolved once per change of the registration or leg table
   * (parties_gen == WzpRelay.registrations_gen): forwarding a datagram
   * then needs no fingerprint hashing or string compares. */
  RelayClient *parties[2];
  RelayClient *senders[4];
  guint64 parties_gen;
  /* Cluster: a party registered at another node, as its last request
   * here described it (address, NAT, RTT for the setup); NULL if local. */
  RelayClient *stubs[2];
  /* The call's home key in Redis names us. */
  gboolean hosted;
  /* Set up, but the setup waits for a party of another node to open its
   * media leg here (at most RELAY_LEG_WAIT). */
  GSource *leg_timer;
  /* The media plane's channels of caller and callee (0: none). */
  guint32 legs[2];
} RelayCall;

typedef struct
{
  char *fp;
  guint8 public_key[WZP_PUBLIC_KEY_LEN];
  JsonObject *key_blob;
} RoomMember;

typedef struct
{
  RelayChannel channel;
  char *name;
  GHashTable *members;          /* fp -> RoomMember */
} RelayRoom;

struct _WzpRelay
{
  GObject parent;

  GMainContext *context;
  WzpIdentity *identity;
  WzpClock *clock;
  char *listen_address;
  char *probe_address;
  char *metrics_address;
  char *media_address;          /* NULL: listen port + 2; "" or "none": no media port */
  char *media_advertise;        /* what clients are told; NULL: the bound address */
  guint workers;                /* 0: the CPUs we may run on */
  guint64 ring_timeout_ns;
  guint max_room_members;
  RelayLimits limits;
  /* Limits the endpoint enforces, kept until it exists (wzp_relay_start)
   * and passed on (see endpoint_props in wzp-relay.c). */
  GValue endpoint_values[8];
  /* Test hook: admit anyone to owned rooms, as a malicious relay would
   * (members must then refuse them on their own). */
  gboolean rooms_admit_anyone;

  gboolean started;
  WzpEndpoint *endpoint;
  WzpEndpoint *probe_endpoint;
  gpointer metrics_server;      /* SoupServer */
  RelayLegs *legs;
  RelayMedia *media;            /* NULL: no media port */
  char *media_advertised;       /* "ip:port" in the "media" objects */
  GHashTable *leg_calls;        /* leg id -> RelayCall */
  guint64 media_rebinds;
  GSocketAddress *metrics_bound;

  GHashTable *clients;          /* WzpConnection -> RelayClient (owned) */
  GSource *silence_timer;       /* closes clients that went silent */
  GHashTable *registrations;    /* fp -> RelayClient (current) */
  guint64 registrations_gen;    /* bumped on every change of it; from 1 */
  GHashTable *calls;            /* call id -> RelayCall (owned) */
  GHashTable *fp_calls;         /* fp -> RelayCall */
  GHashTable *channels;         /* channel id -> RelayChannel */
  GHashTable *rooms;            /* name -> RelayRoom (owned) */
  GHashTable *probes;           /* token hex -> ProbeEntry */
  GHashTable *raw_seen;         /* token hex -> ProbeEntry */
  GHashTable *probes_per_fp;    /* fp -> pending probes (guint) */
  WzpSourceCounter *raw_per_source;     /* unclaimed raw packets */
  RelayDeadlines *deadlines;    /* unregistered connections */
  GHashTable *error_counts;     /* code -> guint64 * */
  WzpLogLimit error_log;        /* "error to ..." lines */

  /* Cluster (wzp-relay-cluster.c); NULL: one relay, as without Redis. */
  char *redis_url;
  char *redis_password;
  char *advertise_address;
  guint64 drain_timeout_ns;
  gpointer cluster;             /* RelayCluster */
  GHashTable *media_legs;       /* fp -> RelayClient (media legs) */
  /* Draining (wzp-relay-drain.c). */
  gboolean draining;
  gpointer drain;               /* RelayDrain */

  WzpRelayStats stats;
};

/* Counts a refusal by the relay's own limits and warns (at most once per
 * WZP_LOG_LIMIT_INTERVAL per reason, with the count of the others). */
#define RELAY_REFUSE(self, why, ...) G_STMT_START {                        \
  (self)->limits.refusals[why]++;                                         \
  WZP_WARNING_LIMITED (self, &(self)->limits.logs[why],                   \
      wzp_clock_get_time ((self)->clock), __VA_ARGS__);                   \
} G_STMT_END

/* wzp-relay-registry.c */
void _wzp_relay_send (WzpRelay * self, RelayClient * client,
    JsonObject * msg);
gboolean _wzp_relay_send_to (WzpRelay * self, const char *fp,
    JsonObject * msg);
void _wzp_relay_send_error (WzpRelay * self, RelayClient * client,
    const char *code, const char *message, JsonObject * request);
RelayClient *_wzp_relay_lookup (WzpRelay * self, const char *fp);
guint32 _wzp_relay_allocate_channel (WzpRelay * self, RelayChannel * owner);
/* Where media for @fp goes here: its registration, else its media leg. */
RelayClient *_wzp_relay_media_target (WzpRelay * self, const char *fp);
RelayClient *_wzp_relay_lookup_media_leg (WzpRelay * self, const char *fp);
/* Its RTT to its relay (the node it is registered at, for a stub). */
guint64 _wzp_relay_client_rtt (RelayClient * c);
/* A stub of @c that outlives the request (a call keeps it). */
RelayClient *_wzp_relay_stub_dup (RelayClient * c);
void _wzp_relay_stub_free (RelayClient * stub);
/* Adds "media_relay" (this node, for a media leg) to a message for a
 * party that is not registered here; nothing without a cluster. */
void _wzp_relay_add_media_relay (WzpRelay * self, JsonObject * msg,
    const char *fp);

/* wzp-relay-calls.c */
void _wzp_relay_handle_call (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_answer (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_reject (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_hangup (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_update_candidates (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_resume_call (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_calls_peer_gone (WzpRelay * self, const char *fp);
/* @fp opened a media leg here: a setup that waited for it goes out. */
void _wzp_relay_calls_leg_ready (WzpRelay * self, const char *fp);
void _wzp_relay_call_free (RelayCall * call);
void _wzp_relay_forward_media (WzpRelay * self, RelayClient * c,
    const guint8 * data, gsize len);

/* wzp-relay-channels.c */
gboolean _wzp_relay_channels_open (WzpRelay * self, RelayCall * call);
void _wzp_relay_channels_close (WzpRelay * self, RelayCall * call);
void _wzp_relay_channels_describe (WzpRelay * self, RelayCall * call,
    guint party, JsonObject * msg);
void _wzp_relay_channels_rebind (WzpRelay * self, RelayCall * call,
    guint party);
void _wzp_relay_handle_channel_rebind (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_channels_fallback (guint32 to, guint32 gen,
    const guint8 * payload, gsize len, gpointer user_data);
gboolean _wzp_relay_channels_deliver (WzpRelay * self, RelayCall * call,
    guint party, const guint8 * data, gsize len);

/* wzp-relay-rooms.c */
void _wzp_relay_handle_join_room (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_leave_room (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_room_message (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_rooms_peer_gone (WzpRelay * self, const char *fp);
void _wzp_relay_room_free (RelayRoom * room);
void _wzp_relay_forward_room_media (WzpRelay * self, RelayClient * c,
    RelayRoom * room, const guint8 * data, gsize len);
/* Test hooks that make the relay lie about rooms. */
void _wzp_relay_set_rooms_admit_anyone (WzpRelay * self, gboolean anyone);
/* Lists @fp as a member of the existing room @room_id, with @key_blob,
 * and tells the others it joined; FALSE when the room does not exist. */
gboolean _wzp_relay_inject_room_member (WzpRelay * self,
    const char *room_id, const char *fp,
    const guint8 public_key[WZP_PUBLIC_KEY_LEN], JsonObject * key_blob);

/* wzp-relay-probes.c */
void _wzp_relay_probes_init (WzpRelay * self);
void _wzp_relay_probes_clear (WzpRelay * self);
void _wzp_relay_probes_free (WzpRelay * self);
guint _wzp_relay_probes_pending (WzpRelay * self);
void _wzp_relay_handle_reflect (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_handle_probe_request (WzpRelay * self, RelayClient * c,
    JsonObject * msg);
void _wzp_relay_on_probe_packet (WzpEndpoint * ep, const WzpAddr * from,
    const guint8 * data, gsize len, gpointer user_data);

/* wzp-relay-process.c */
void _wzp_relay_process_metrics (GString * out);

/* wzp-relay-metrics.c */
gboolean _wzp_relay_metrics_start (WzpRelay * self, GError ** error);
void _wzp_relay_metrics_stop (WzpRelay * self);

G_END_DECLS
