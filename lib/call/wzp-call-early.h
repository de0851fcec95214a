/* wzp-call-early.h — media on a LAN before the relay's call-setup
 * (private)
 *
 * The relay's call-setup reaches both parties two relay round trips
 * after the offer.  On one LAN the callee can do better: when it answers
 * it knows everything the media needs (both ephemeral keys, so the keys
 * and the punch token; the caller's host candidates, from the offer).  So
 * it dials the caller's host candidates at once (the path manager with
 * the dialer's role given, not decided), and its first word on the
 * connection is its signed answer (the path manager's greeting).  The
 * caller's WzpPathListener has accepted the callee since the call began;
 * on the greeting the caller checks the answer as call-setup would, makes
 * its keys and its path manager (acceptor), which takes the connection
 * and agrees on it: both are ACTIVE, media on the LAN, before the relay's
 * call-setup arrives.  When it does, it is checked against what came
 * early (the same keys) and completes the picture: the relay channel for
 * a fallback, the reflexive candidates.
 *
 * Off a LAN the early dial leads nowhere; call-setup then races the usual
 * way (docs/PATH.md, "Early start").
 *
 * This is what the early start knows and checks: data in, data out.
 * WzpCall drives it (wzp-call.c, "the early start on a LAN") and turns its
 * results into states; it calls nothing back.
 */
#pragma once

#include "wzp-call-handshake.h"
#include "wzp-connection.h"

G_BEGIN_DECLS

typedef struct
{
  gulong listener_message_id;   /* the caller waits for the answer */
  gboolean keys_made;           /* keys made before call-setup */
  gboolean have_peer_eph;
  guint8 peer_eph[WZP_EPH_KEY_LEN];     /* the caller: the answer's key */
} WzpCallEarly;

/* The callee, having answered @offer with @answer: the greeting to send
 * on the connections it dials ([call id][the signed answer]), the
 * caller's host candidates (@hosts) and NAT type (@nat) from the offer.
 * NULL when the offer has no host candidates or the answer does not fit
 * in a greeting: no early start. */
GBytes *_wzp_call_early_greeting (const guint8 call_id[WZP_CALL_ID_BYTES],
    JsonObject * offer, JsonObject * answer, WzpCandidates ** hosts,
    WzpNatType * nat);

/* The caller: reads @message, which the callee's connection @conn
 * carried, as its greeting: the answer to our call (@hs), signed by the
 * key TLS proved on @conn, which must be @peer's.  Fills @info (clear
 * with _wzp_offer_info_clear()), records the answer and the peer's key in
 * @leg and the answer's key in @early.  FALSE (logged) when it is not a
 * valid answer to our call. */
gboolean _wzp_call_early_read_answer (WzpCallEarly * early, GBytes * message,
    WzpConnection * conn, const WzpCallHandshake * hs, WzpIdentity * me,
    const char *peer, WzpRelayLeg * leg, WzpOfferInfo * info);

/* The relay's call-setup after an early start: checked as every setup
 * is (_wzp_call_handshake_check_setup()) and against what came early:
 * the same keys.  A WZP_CALL_ERROR_BAD_PEER when it does not match. */
gboolean _wzp_call_early_check_setup (const WzpCallEarly * early,
    WzpCallHandshake * hs, WzpIdentity * me, const char *peer,
    const WzpCallSetup * setup, WzpRelayLeg * leg, WzpOfferInfo * info,
    GError ** error);

G_END_DECLS
