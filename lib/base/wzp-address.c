/* wzp — socket addresses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

gboolean
wzp_addr_from_gsocketaddress (WzpAddr * addr, GSocketAddress * gaddr)
{
  gssize len;

  memset (addr, 0, sizeof *addr);
  len = g_socket_address_get_native_size (gaddr);
  if (len <= 0 || (gsize) len > sizeof addr->storage)
    return FALSE;
  if (!g_socket_address_to_native (gaddr, &addr->storage, len, NULL))
    return FALSE;
  addr->len = (socklen_t) len;
  return TRUE;
}

GSocketAddress *
wzp_addr_to_gsocketaddress (const WzpAddr * addr)
{
  return g_socket_address_new_from_native ((gpointer) & addr->storage,
      addr->len);
}

/* The one HOST:PORT parser: GLib's (g_network_address_parse(), which
 * knows brackets and IPv6), plus what GLib lets through and we do not
 * want: an empty host, a missing port (GLib takes "host" alone, and an
 * unbracketed IPv6 address, as port 0), and a port that is not digits
 * (GLib would look a service name up in /etc/services). */
gboolean
wzp_host_port_parse (const char *text, char **host, guint16 * port,
    GError ** error)
{
  g_autoptr (GSocketConnectable) address = NULL;
  g_autoptr (GError) local = NULL;
  const char *colon, *p;
  const char *hostname;

  if (text == NULL)
    goto bad;
  colon = strrchr (text, ':');
  if (colon == NULL || colon[1] == '\0')
    goto bad;
  if (text[0] == '[' ? colon[-1] != ']' : strchr (text, ':') != colon)
    goto bad;
  for (p = colon + 1; *p; p++)
    if (!g_ascii_isdigit (*p))
      goto bad;
  address = g_network_address_parse (text, 0, &local);
  if (address == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not HOST:PORT: %s", text, local->message);
    return FALSE;
  }
  hostname = g_network_address_get_hostname (G_NETWORK_ADDRESS (address));
  if (*hostname == '\0' || strpbrk (hostname, " \t\r\n"))
    goto bad;
  if (host)
    *host = g_strdup (hostname);
  if (port)
    *port = g_network_address_get_port (G_NETWORK_ADDRESS (address));
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
      "'%s' is not HOST:PORT (an IPv6 address in brackets: [2001:db8::1]:PORT)",
      text ? text : "(null)");
  return FALSE;
}

/* Numeric addresses only (candidates in messages, bind addresses): a DNS
 * lookup would be both slow and wrong there. */
gboolean
wzp_addr_parse (WzpAddr * addr, const char *text, GError ** error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  gboolean bracketed = text && text[0] == '[';
  struct sockaddr_in *sin = (struct sockaddr_in *) &addr->storage;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &addr->storage;

  memset (addr, 0, sizeof *addr);
  if (!wzp_host_port_parse (text, &host, &port, NULL))
    goto bad;
  if (!bracketed && inet_pton (AF_INET, host, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons (port);
    addr->len = sizeof *sin;
    return TRUE;
  }
  if (bracketed && inet_pton (AF_INET6, host, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons (port);
    addr->len = sizeof *sin6;
    return TRUE;
  }

bad:
  memset (addr, 0, sizeof *addr);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
      "'%s' is not an address: expected 1.2.3.4:PORT or [2001:db8::1]:PORT",
      text ? text : "(null)");
  return FALSE;
}

char *
wzp_addr_to_string (const WzpAddr * addr, char buf[WZP_ADDR_STRLEN])
{
  char ip[INET6_ADDRSTRLEN] = "?";

  if (addr->storage.ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *) &addr->storage;
    inet_ntop (AF_INET, &sin->sin_addr, ip, sizeof ip);
    g_snprintf (buf, WZP_ADDR_STRLEN, "%s:%u", ip, ntohs (sin->sin_port));
  } else if (addr->storage.ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 =
        (const struct sockaddr_in6 *) &addr->storage;
    inet_ntop (AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
    g_snprintf (buf, WZP_ADDR_STRLEN, "[%s]:%u", ip, ntohs (sin6->sin6_port));
  } else {
    g_strlcpy (buf, "(none)", WZP_ADDR_STRLEN);
  }
  return buf;
}

gboolean
wzp_addr_equal (const WzpAddr * a, const WzpAddr * b)
{
  if (a->storage.ss_family != b->storage.ss_family)
    return FALSE;
  if (a->storage.ss_family == AF_INET) {
    const struct sockaddr_in *x = (const struct sockaddr_in *) &a->storage;
    const struct sockaddr_in *y = (const struct sockaddr_in *) &b->storage;
    return x->sin_port == y->sin_port
        && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->storage.ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *) &a->storage;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *) &b->storage;
    return x->sin6_port == y->sin6_port
        && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return FALSE;
}

int
wzp_addr_family (const WzpAddr * addr)
{
  return addr->storage.ss_family;
}

guint16
wzp_addr_port (const WzpAddr * addr)
{
  if (addr->storage.ss_family == AF_INET)
    return ntohs (((const struct sockaddr_in *) &addr->storage)->sin_port);
  if (addr->storage.ss_family == AF_INET6)
    return ntohs (((const struct sockaddr_in6 *) &addr->storage)->sin6_port);
  return 0;
}

void
wzp_addr_set_port (WzpAddr * addr, guint16 port)
{
  if (addr->storage.ss_family == AF_INET)
    ((struct sockaddr_in *) &addr->storage)->sin_port = htons (port);
  else if (addr->storage.ss_family == AF_INET6)
    ((struct sockaddr_in6 *) &addr->storage)->sin6_port = htons (port);
}

/**
 * wzp_socket_address_parse:
 * @text: "1.2.3.4:5" or "[::1]:5"
 *
 * Returns: (transfer full): a #GInetSocketAddress, or %NULL with @error set.
 */
GSocketAddress *
wzp_socket_address_parse (const char *text, GError ** error)
{
  WzpAddr addr;

  if (!wzp_addr_parse (&addr, text, error))
    return NULL;
  return wzp_addr_to_gsocketaddress (&addr);
}

char *
wzp_socket_address_to_string (GSocketAddress * address)
{
  WzpAddr addr;
  char buf[WZP_ADDR_STRLEN];

  if (address == NULL || !wzp_addr_from_gsocketaddress (&addr, address))
    return g_strdup ("(none)");
  return g_strdup (wzp_addr_to_string (&addr, buf));
}
