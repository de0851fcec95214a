/* wzp-call-room-private.h — what wzp-call-room.c and wzp-call-room-keys.c
 * share (private)
 *
 * wzp-call-room.c owns the members table (who is in the room and
 * admitted); wzp-call-room-keys.c owns the keys (ours, theirs, the
 * pairwise channel to each).  The keys file never calls into the room
 * file.
 */
#pragma once

#include "wzp-call-room.h"
#include "wzp-clock.h"

G_BEGIN_DECLS

/* A rotation switches to the new key once every admitted member has
 * acknowledged it, or after this long, whichever comes first. */
#define WZP_ROOM_ROTATE_MAX_WAIT (1000 * WZP_NSEC_PER_MSEC)
/* A receiver keeps a member's replaced key this long after it received
 * the replacement, on top of WZP_ROOM_ROTATE_MAX_WAIT (the latest the
 * sender switches): packets sealed just before the switch are still in
 * flight or in the jitter buffer. */
#define WZP_ROOM_KEY_OVERLAP (2000 * WZP_NSEC_PER_MSEC)
/* Keys kept per member (a member that rotates faster than keys retire
 * loses its oldest). */
#define WZP_ROOM_MAX_KEYS_PER_MEMBER 4
/* A new key continues the sequence numbers of the old one unless fewer
 * than this many are left before 2^32 (then it starts again at 0, which
 * receivers' jitter buffers take as a new stream). */
#define WZP_ROOM_SEQ_HEADROOM (1u << 20)

/* One of a member's sender keys, as we hold it. */
typedef struct
{
  WzpMediaOpener *opener;
  guint32 stream_id;
  guint64 retire_at;            /* our clock; 0 while it is the newest */
} WzpRoomMemberKey;

/* Another member we admitted. */
typedef struct
{
  char *fingerprint;
  guint8 public_key[WZP_PUBLIC_KEY_LEN];
  guint8 eph[WZP_X25519_KEY_LEN];
  guint64 expires_at;           /* invitation expiry on our clock; 0: none */

  /* the pairwise channel (wzp-call-room-keys.c) */
  WzpMediaSealer *pair_tx;      /* our key messages and acks to them */
  WzpMediaOpener *pair_rx;      /* theirs to us */
  guint32 sent_stream;          /* our key they were last sent */
  gboolean sent;
  guint32 acked_stream;         /* our key they last acknowledged */
  gboolean acked;
  GPtrArray *keys;              /* of WzpRoomMemberKey, oldest first */
} WzpRoomMember;

struct _WzpCallRoom
{
  const WzpCallRoomEvents *events;      /* what we tell the call */
  gpointer user_data;
  WzpSignalClient *signal;      /* not owned */
  WzpIdentity *identity;
  WzpClock *clock;
  GMainContext *context;
  char *id;                     /* on the wire: NAME or OWNER/NAME */
  char *owner;                  /* NULL: an open room */
  WzpRoomInvite *invite;        /* ours; NULL for the owner and open rooms */
  guint8 room_key_id[WZP_MEDIA_CALL_ID_LEN];    /* SHA-256(id)[:16] */
  WzpX25519Key *eph;
  guint32 channel;
  guint registrations;
  gboolean join_sent;
  gboolean joined;
  GHashTable *members;          /* fingerprint -> WzpRoomMember (owned) */
  GHashTable *by_stream;        /* stream id -> WzpRoomMember */
  GSource *expiry_timer;

  /* our sender key (wzp-call-room-keys.c) */
  WzpMediaSealer *sealer;
  guint32 stream_id;
  WzpMediaKey next_key;
  gboolean rotating;
  guint64 rotate_started;
  const char *rotate_reason;    /* static string */
  GSource *rotate_timer;

  /* test hook: every sender key we make or receive */
  WzpCallRoomKeyFunc key_func;
  gpointer key_data;
};

/* Fails the call this room belongs to (a macro, so the failure's origin
 * is the line that failed it). */
#define _wzp_call_room_fail(room, code, ...) \
  (room)->events->failed ((room)->user_data, __FILE__, G_STRFUNC, __LINE__, \
      g_error_new (WZP_CALL_ERROR, (code), __VA_ARGS__))

/* wzp-call-room-keys.c */
void _wzp_room_keys_member_init (WzpCallRoom * room, WzpRoomMember * m);
void _wzp_room_keys_member_clear (WzpCallRoom * room, WzpRoomMember * m);
gboolean _wzp_room_keys_start (WzpCallRoom * room, GError ** error);
void _wzp_room_keys_stop (WzpCallRoom * room);
/* Membership changed: a new key for everyone still in the room.
 * @forget_pending: the change removed someone (a key not yet switched to
 * may have reached them) */
void _wzp_room_keys_rotate (WzpCallRoom * room, const char *reason,
    gboolean forget_pending);
/* Sends the key being distributed (if any) to @m. */
void _wzp_room_keys_welcome (WzpCallRoom * room, WzpRoomMember * m);
void _wzp_room_keys_on_message (WzpCallRoom * room, WzpRoomMember * m,
    JsonObject * body);
WzpMediaOpener *_wzp_room_keys_opener (WzpCallRoom * room,
    WzpRoomMember * m, guint32 stream_id);

G_END_DECLS
