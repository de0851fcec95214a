/* wzp — socket addresses
 *
 * The packet path works on raw sockaddrs (no allocation per packet); the
 * public API speaks GSocketAddress.  Text form is "1.2.3.4:5" or
 * "[2001:db8::1]:5", the same everywhere: logs, signaling, tools.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sys/socket.h>
#include "wzp-version.h"

G_BEGIN_DECLS

typedef struct
{
  struct sockaddr_storage storage;
  socklen_t len;
} WzpAddr;

/* Longest text form: "[" + 45 + "]:" + 5 + NUL */
#define WZP_ADDR_STRLEN 56

gboolean wzp_addr_from_gsocketaddress (WzpAddr * addr, GSocketAddress * gaddr);

GSocketAddress *wzp_addr_to_gsocketaddress (const WzpAddr * addr);

/* The one HOST:PORT parser of libwzp (GLib's, with an explicit port and
 * a host required): "relay.example.org:4433", "1.2.3.4:5",
 * "[2001:db8::1]:5".  @host gets the host without brackets. */
gboolean wzp_host_port_parse (const char *text, char **host, guint16 * port,
    GError ** error);

/* Numeric "1.2.3.4:5" or "[2001:db8::1]:5" only. */
gboolean wzp_addr_parse (WzpAddr * addr, const char *text, GError ** error);

char *wzp_addr_to_string (const WzpAddr * addr, char buf[WZP_ADDR_STRLEN]);

gboolean wzp_addr_equal (const WzpAddr * a, const WzpAddr * b);

int wzp_addr_family (const WzpAddr * addr);

guint16 wzp_addr_port (const WzpAddr * addr);

void wzp_addr_set_port (WzpAddr * addr, guint16 port);

GSocketAddress *wzp_socket_address_parse (const char *text, GError ** error);

char *wzp_socket_address_to_string (GSocketAddress * address);

G_END_DECLS
