/* wzp — candidate addresses for a direct path, and NAT types
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-candidates.h"

#include <errno.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

/* --- NAT types -------------------------------------------------------- */

static const GEnumValue nat_type_values[] = {
  {WZP_NAT_TYPE_UNKNOWN, "WZP_NAT_TYPE_UNKNOWN", "unknown"},
  {WZP_NAT_TYPE_EIM, "WZP_NAT_TYPE_EIM", "eim"},
  {WZP_NAT_TYPE_EDM, "WZP_NAT_TYPE_EDM", "edm"},
  {0, NULL, NULL},
};

GType
wzp_nat_type_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WzpNatType", nat_type_values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/**
 * wzp_nat_type_to_string:
 *
 * Returns: "unknown", "eim" or "edm" (the signaling form)
 */
const char *
wzp_nat_type_to_string (WzpNatType type)
{
  switch (type) {
    case WZP_NAT_TYPE_EIM:
      return "eim";
    case WZP_NAT_TYPE_EDM:
      return "edm";
    case WZP_NAT_TYPE_UNKNOWN:
    default:
      return "unknown";
  }
}

/**
 * wzp_nat_type_from_string:
 *
 * Reads the form wzp_nat_type_to_string() writes, and the common names
 * ("cone", "endpoint-independent", "symmetric", "endpoint-dependent"),
 * case-insensitively.
 *
 * Returns: %FALSE (and @type untouched) for anything else
 */
gboolean
wzp_nat_type_from_string (const char *text, WzpNatType * type)
{
  static const struct
  {
    const char *name;
    WzpNatType type;
  } names[] = {
    {"unknown", WZP_NAT_TYPE_UNKNOWN},
    {"eim", WZP_NAT_TYPE_EIM},
    {"cone", WZP_NAT_TYPE_EIM},
    {"endpoint-independent", WZP_NAT_TYPE_EIM},
    {"edm", WZP_NAT_TYPE_EDM},
    {"symmetric", WZP_NAT_TYPE_EDM},
    {"endpoint-dependent", WZP_NAT_TYPE_EDM},
  };

  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (g_ascii_strcasecmp (text, names[i].name) == 0) {
      *type = names[i].type;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
wzp_candidate_kind_to_string (WzpCandidateKind kind)
{
  switch (kind) {
    case WZP_CANDIDATE_HOST:
      return "host";
    case WZP_CANDIDATE_REFLEXIVE:
      return "reflexive";
    case WZP_CANDIDATE_PEER_REFLEXIVE:
      return "peer-reflexive";
    default:
      return "unknown";
  }
}

/* --- the list --------------------------------------------------------- */

struct _WzpCandidates
{
  gatomicrefcount ref;
  GArray *items;                /* WzpCandidate */
};

G_DEFINE_BOXED_TYPE (WzpCandidates, wzp_candidates, wzp_candidates_ref,
    wzp_candidates_unref);

WzpCandidates *
wzp_candidates_new (void)
{
  WzpCandidates *self = g_new0 (WzpCandidates, 1);

  g_atomic_ref_count_init (&self->ref);
  self->items = g_array_new (FALSE, TRUE, sizeof (WzpCandidate));
  return self;
}

WzpCandidates *
wzp_candidates_ref (WzpCandidates * self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

void
wzp_candidates_unref (WzpCandidates * self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref))
    return;
  g_array_unref (self->items);
  g_free (self);
}

WzpCandidates *
wzp_candidates_copy (const WzpCandidates * self)
{
  WzpCandidates *copy = wzp_candidates_new ();

  if (self)
    g_array_append_vals (copy->items, self->items->data, self->items->len);
  return copy;
}

gboolean
wzp_candidates_contains (const WzpCandidates * self, const WzpAddr * addr)
{
  if (self == NULL)
    return FALSE;
  for (guint i = 0; i < self->items->len; i++) {
    if (wzp_addr_equal (&g_array_index (self->items, WzpCandidate, i).addr,
            addr))
      return TRUE;
  }
  return FALSE;
}

/**
 * wzp_candidates_add:
 *
 * Appends @addr unless it is already listed (whatever its kind) or the
 * list is full (%WZP_CANDIDATES_MAX).  Only IPv4 and IPv6 addresses with
 * a port are taken.
 *
 * Returns: %TRUE if it was added
 */
gboolean
wzp_candidates_add (WzpCandidates * self, WzpCandidateKind kind,
    const WzpAddr * addr)
{
  WzpCandidate c = { 0 };
  int family = wzp_addr_family (addr);

  g_return_val_if_fail (self != NULL && addr != NULL, FALSE);
  if ((family != AF_INET && family != AF_INET6) || wzp_addr_port (addr) == 0)
    return FALSE;
  if (wzp_candidates_contains (self, addr))
    return FALSE;
  if (self->items->len >= WZP_CANDIDATES_MAX) {
    char text[WZP_ADDR_STRLEN];
    WZP_INFO ("candidate list full (%u): dropping %s", WZP_CANDIDATES_MAX,
        wzp_addr_to_string (addr, text));
    return FALSE;
  }
  c.kind = kind;
  c.addr = *addr;
  g_array_append_val (self->items, c);
  return TRUE;
}

/**
 * wzp_candidates_add_reflexive:
 * @address: the address the relay observed for our socket
 */
gboolean
wzp_candidates_add_reflexive (WzpCandidates * self, GSocketAddress * address)
{
  WzpAddr addr;

  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), FALSE);
  if (!wzp_addr_from_gsocketaddress (&addr, address))
    return FALSE;
  return wzp_candidates_add (self, WZP_CANDIDATE_REFLEXIVE, &addr);
}

/**
 * wzp_candidates_add_string:
 * @text: "ip:port" or "[ipv6]:port"
 *
 * Returns: %FALSE with @error set when @text is not an address; %TRUE
 * otherwise, also when it was a duplicate or did not fit.
 */
gboolean
wzp_candidates_add_string (WzpCandidates * self, WzpCandidateKind kind,
    const char *text, GError ** error)
{
  WzpAddr addr;

  if (!wzp_addr_parse (&addr, text, error))
    return FALSE;
  wzp_candidates_add (self, kind, &addr);
  return TRUE;
}

guint
wzp_candidates_get_count (const WzpCandidates * self)
{
  return self ? self->items->len : 0;
}

/**
 * wzp_candidates_get:
 *
 * Returns: (transfer none): the @i-th candidate, valid until the list
 * changes
 */
const WzpCandidate *
wzp_candidates_get (const WzpCandidates * self, guint i)
{
  g_return_val_if_fail (self != NULL && i < self->items->len, NULL);
  return &g_array_index (self->items, WzpCandidate, i);
}

/* --- gathering -------------------------------------------------------- */

static gboolean
keep_address (const struct sockaddr *sa, WzpGatherFlags flags)
{
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;
    guint32 a = ntohl (sin->sin_addr.s_addr);

    if (a == INADDR_ANY || a == INADDR_BROADCAST)
      return FALSE;
    if ((a >> 24) == 127)
      return (flags & WZP_GATHER_LOOPBACK) != 0;
    if ((a >> 16) == 0xa9fe)    /* 169.254/16 */
      return (flags & WZP_GATHER_LINK_LOCAL) != 0;
    if ((a >> 28) == 0xe)       /* multicast */
      return FALSE;
    return TRUE;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

    if (IN6_IS_ADDR_UNSPECIFIED (a) || IN6_IS_ADDR_MULTICAST (a))
      return FALSE;
    if (IN6_IS_ADDR_LOOPBACK (a))
      return (flags & WZP_GATHER_LOOPBACK) != 0;
    /* Link-local needs a scope id, which means nothing on another host. */
    if (IN6_IS_ADDR_LINKLOCAL (a) || IN6_IS_ADDR_V4MAPPED (a)
        || IN6_IS_ADDR_V4COMPAT (a))
      return FALSE;
    return TRUE;
  }
  return FALSE;
}

static void
add_host (WzpCandidates * self, const struct sockaddr *sa, guint16 port,
    WzpGatherFlags flags)
{
  WzpAddr addr = { 0 };
  gsize len = sa->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6) :
      sizeof (struct sockaddr_in);

  if (!keep_address (sa, flags))
    return;
  memcpy (&addr.storage, sa, len);
  addr.len = len;
  if (sa->sa_family == AF_INET6)
    ((struct sockaddr_in6 *) &addr.storage)->sin6_scope_id = 0;
  wzp_addr_set_port (&addr, port);
  if (wzp_candidates_add (self, WZP_CANDIDATE_HOST, &addr)) {
    char text[WZP_ADDR_STRLEN];
    WZP_DEBUG ("host candidate %s", wzp_addr_to_string (&addr, text));
  }
}

static gboolean
is_unspecified (const WzpAddr * addr)
{
  if (wzp_addr_family (addr) == AF_INET)
    return ((const struct sockaddr_in *) &addr->storage)->sin_addr.s_addr ==
        htonl (INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED (&((const struct sockaddr_in6 *)
          &addr->storage)->sin6_addr);
}

/**
 * wzp_candidates_gather_host:
 * @flags: which kinds of address to keep besides the routable ones
 *
 * Adds a host candidate for each address at which @endpoint's sockets
 * (IPv4 and IPv6, whichever are bound) can be reached, with that socket's
 * port.  A socket bound to the unspecified address is reachable at every
 * up interface address of its family; one bound to a specific address
 * only there.  Loopback and link-local addresses are left out unless
 * @flags keeps them.
 *
 * Returns: %FALSE with @error set if the interfaces cannot be listed
 */
gboolean
wzp_candidates_gather_host (WzpCandidates * self, WzpEndpoint * endpoint,
    WzpGatherFlags flags, GError ** error)
{
  static const GSocketFamily families[] =
      { G_SOCKET_FAMILY_IPV4, G_SOCKET_FAMILY_IPV6 };
  struct ifaddrs *ifs = NULL;

  g_return_val_if_fail (self != NULL && WZP_IS_ENDPOINT (endpoint), FALSE);

  for (guint f = 0; f < G_N_ELEMENTS (families); f++) {
    g_autoptr (GSocketAddress) local =
        wzp_endpoint_get_local_address (endpoint, families[f]);
    WzpAddr bound;
    int family;

    if (local == NULL || !wzp_addr_from_gsocketaddress (&bound, local))
      continue;
    family = wzp_addr_family (&bound);
    if (!is_unspecified (&bound)) {
      add_host (self, (struct sockaddr *) &bound.storage,
          wzp_addr_port (&bound), flags);
      continue;
    }
    if (ifs == NULL && getifaddrs (&ifs) != 0) {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
          "cannot list network interfaces: %s", g_strerror (errsv));
      return FALSE;
    }
    for (struct ifaddrs * i = ifs; i; i = i->ifa_next) {
      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
        continue;
      if (!(i->ifa_flags & IFF_UP))
        continue;
      add_host (self, i->ifa_addr, wzp_addr_port (&bound), flags);
    }
  }
  if (ifs)
    freeifaddrs (ifs);
  return TRUE;
}

/**
 * wzp_candidates_gather:
 *
 * A new list with @endpoint's host candidates; see
 * wzp_candidates_gather_host().  Add the reflexive address the relay
 * reports with wzp_candidates_add_reflexive().
 *
 * Returns: (transfer full) (nullable): the list, or %NULL with @error set
 */
WzpCandidates *
wzp_candidates_gather (WzpEndpoint * endpoint, WzpGatherFlags flags,
    GError ** error)
{
  g_autoptr (WzpCandidates) self = wzp_candidates_new ();

  if (!wzp_candidates_gather_host (self, endpoint, flags, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* --- text form -------------------------------------------------------- */

/**
 * wzp_candidates_to_strv:
 *
 * Returns: (transfer full): a %NULL-terminated array of "ip:port" strings,
 * one per candidate, in order (the form signaling carries)
 */
char **
wzp_candidates_to_strv (const WzpCandidates * self)
{
  guint n = wzp_candidates_get_count (self);
  char **strv = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++) {
    char text[WZP_ADDR_STRLEN];
    strv[i] = g_strdup (wzp_addr_to_string (&wzp_candidates_get (self,
                i)->addr, text));
  }
  return strv;
}

/**
 * wzp_candidates_add_strv:
 * @kind: the kind to give every one of them
 * @strv: (nullable): "ip:port" strings
 *
 * Adds every address of @strv, or none: on a malformed entry nothing is
 * added and @error names it.
 */
gboolean
wzp_candidates_add_strv (WzpCandidates * self, WzpCandidateKind kind,
    const char *const *strv, GError ** error)
{
  g_autoptr (GArray) parsed = g_array_new (FALSE, TRUE, sizeof (WzpAddr));

  for (guint i = 0; strv && strv[i]; i++) {
    WzpAddr addr;
    if (!wzp_addr_parse (&addr, strv[i], error)) {
      g_prefix_error (error, "candidate %u: ", i);
      return FALSE;
    }
    g_array_append_val (parsed, addr);
  }
  for (guint i = 0; i < parsed->len; i++)
    wzp_candidates_add (self, kind, &g_array_index (parsed, WzpAddr, i));
  return TRUE;
}

/**
 * wzp_candidates_new_from_strv:
 *
 * Returns: (transfer full) (nullable): a list of @strv's addresses, or
 * %NULL with @error set
 */
WzpCandidates *
wzp_candidates_new_from_strv (WzpCandidateKind kind, const char *const *strv,
    GError ** error)
{
  g_autoptr (WzpCandidates) self = wzp_candidates_new ();

  if (!wzp_candidates_add_strv (self, kind, strv, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * wzp_candidates_to_string:
 *
 * Returns: (transfer full): "host 10.0.0.2:4433, reflexive 192.0.2.7:4433"
 * for logs
 */
char *
wzp_candidates_to_string (const WzpCandidates * self)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < wzp_candidates_get_count (self); i++) {
    const WzpCandidate *c = wzp_candidates_get (self, i);
    char text[WZP_ADDR_STRLEN];
    g_string_append_printf (s, "%s%s %s", i ? ", " : "",
        wzp_candidate_kind_to_string (c->kind),
        wzp_addr_to_string (&c->addr, text));
  }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}
