/* wzp — what the path manager puts on the wire (internal)
 *
 * Three formats, all carrying the call token where a stranger could
 * otherwise inject them (docs/PATH.md):
 *   punch     raw UDP on the one socket        [0x01][16-byte token]
 *   message   on the direct connection's       [type][u32 epoch][token]
 *             message stream (path-ok, path-ok-ack)
 *   datagram  on the direct connection         [0x10][media...]
 *                                              [0x20|0x21][u32 seq][u64 time]
 * Encoding and decoding only: no state, no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-path.h"

G_BEGIN_DECLS

/* Datagrams on the direct connection: the first byte says what it is. */
#define WZP_PATH_DGRAM_MEDIA 0x10
#define WZP_PATH_DGRAM_PROBE 0x20
#define WZP_PATH_DGRAM_PROBE_ACK 0x21
/* [type][u32 seq][u64 send time], big-endian */
#define WZP_PATH_PROBE_LEN 13

/* Messages on the direct connection: [type][u32 epoch][16-byte token]. */
#define WZP_PATH_MSG_OK 0x01
#define WZP_PATH_MSG_OK_ACK 0x02
#define WZP_PATH_MSG_LEN (1 + 4 + WZP_PATH_TOKEN_LEN)
/* ... or [WZP_PATH_MSG_GREETING][the greeting] (wzp-path.h). */

/* Raw punch packet: [0x01][16-byte token]. */
#define WZP_PATH_PUNCH 0x01
#define WZP_PATH_PUNCH_LEN (1 + WZP_PATH_TOKEN_LEN)

/* Application error code on direct connections we close. */
#define WZP_PATH_CLOSE_CODE 0

gboolean _wzp_path_token_equal (const guint8 * a, const guint8 * b);

void _wzp_path_wire_punch (guint8 out[WZP_PATH_PUNCH_LEN],
    const guint8 * token);
gboolean _wzp_path_wire_is_punch (const guint8 * data, gsize len,
    const guint8 * token);

void _wzp_path_wire_msg (guint8 out[WZP_PATH_MSG_LEN], guint8 type,
    guint32 epoch, const guint8 * token);
gboolean _wzp_path_wire_parse_msg (const guint8 * data, gsize len,
    const guint8 * token, guint8 * type, guint32 * epoch);

void _wzp_path_wire_probe (guint8 out[WZP_PATH_PROBE_LEN], guint8 type,
    guint32 seq, guint64 send_time);
gboolean _wzp_path_wire_parse_probe (const guint8 * data, gsize len,
    guint32 * seq, guint64 * send_time);

G_END_DECLS
