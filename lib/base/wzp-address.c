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

/* Numeric addresses only: this runs on the packet path and in message
 * validation, where a DNS lookup would be both slow and wrong. */
gboolean
wzp_addr_parse (WzpAddr * addr, const char *text, GError ** error)
{
  g_autofree char *host = NULL;
  const char *port_str;
  char *end = NULL;
  guint64 port;

  memset (addr, 0, sizeof *addr);
  if (text == NULL || *text == '\0')
    goto bad;

  if (text[0] == '[') {
    const char *close = strchr (text, ']');
    if (close == NULL || close[1] != ':')
      goto bad;
    host = g_strndup (text + 1, close - text - 1);
    port_str = close + 2;
  } else {
    const char *colon = strrchr (text, ':');
    if (colon == NULL || strchr (text, ':') != colon)
      goto bad;
    host = g_strndup (text, colon - text);
    port_str = colon + 1;
  }

  if (*port_str == '\0' || !g_ascii_isdigit (*port_str))
    goto bad;
  port = g_ascii_strtoull (port_str, &end, 10);
  if (*end != '\0' || port > 65535)
    goto bad;

  {
    struct sockaddr_in *sin = (struct sockaddr_in *) &addr->storage;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &addr->storage;

    if (text[0] != '[' && inet_pton (AF_INET, host, &sin->sin_addr) == 1) {
      sin->sin_family = AF_INET;
      sin->sin_port = htons ((guint16) port);
      addr->len = sizeof *sin;
      return TRUE;
    }
    if (text[0] == '[' && inet_pton (AF_INET6, host, &sin6->sin6_addr) == 1) {
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons ((guint16) port);
      addr->len = sizeof *sin6;
      return TRUE;
    }
  }

bad:
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
