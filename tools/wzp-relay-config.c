/* wzp-relay — its options, from the command line and the config file
 *
 * The config file is INI-style, the subset of GKeyFile's syntax that
 * earlier wzp-relay versions read: "[section]" lines, "key = value"
 * lines, comments from '#' or ';' at the start of a line.  It is parsed
 * here rather than with GKeyFile so that every error names the line:
 * "relay.conf:12: unknown key 'max-conection' in [limits]".  Unknown
 * sections and keys, a key in the wrong section, a key given twice and a
 * bad value are all errors: a typo in a limit must not silently leave
 * the default in force.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "wzp-relay-config.h"
#include "wzp-address.h"
#include "wzp-log-private.h"
#ifdef WZP_HAVE_HIREDIS
#include "wzp-relay-redis.h"
#endif

typedef enum
{
  T_STRING,
  T_FILE,
  T_UINT,                       /* a guint WzpRelay property: its range */
  T_SECONDS,                    /* a guint64 ns WzpRelay property */
  T_BOOL,
  T_RETRY,
  T_ADDRESS,                    /* IP:PORT */
  T_REDIS_URL,
  T_SECRET,                     /* a string never printed */
} OptType;

typedef struct
{
  const char *name;             /* flag (--name) and key */
  const char *section;
  OptType type;
  gchar short_name;
  const char *arg;
  const char *help;
  const char *property;         /* WzpRelay property, or NULL */
  double min_s, max_s;          /* T_SECONDS */
} Option;

/* What the daemon options default to, for --check-config. */
static const struct
{
  const char *name;
  const char *text;
} daemon_defaults[] = {
  {"listen", "0.0.0.0:4433"},
  {"probe-listen", "the listen address, port + 1"},
  {"media-listen", "the listen address, port + 2"},
  {"media-advertise", "the media port's own address"},
  {"identity", "$STATE_DIRECTORY/relay.key, or ./relay.key"},
  {"allow-insecure-identity", "false"},
  {"metrics", "none"},
  {"debug", "wzprelay:4"},
  {"redis", "none (one relay, no cluster)"},
  {"redis-password", "none (or the one in the redis URL)"},
  {"advertise", "the listen address"},
};

static const Option options[] = {
  {"listen", "relay", T_STRING, 'l', "ADDR:PORT",
      "Signaling address (default 0.0.0.0:4433)", NULL},
  {"probe-listen", "relay", T_STRING, 'p', "ADDR:PORT",
      "NAT probe address (default: listen port + 1; 'none' for none)", NULL},
  {"media-listen", "relay", T_STRING, 0, "ADDR:PORT",
      "Media port: calls' media as channel packets (default: listen port "
        "+ 2; 'none' for none: media on QUIC datagrams only)", NULL},
  {"media-advertise", "relay", T_STRING, 0, "ADDR:PORT",
      "Media address clients are told, if not the bound one (NAT, port "
        "forward)", NULL},
  {"workers", "relay", T_UINT, 0, "N",
        "Threads forwarding media, one socket each (default 0: one per CPU)",
      "workers"},
  {"identity", "relay", T_FILE, 'i', "FILE",
      "Identity file, created if missing (default: "
        "$STATE_DIRECTORY/relay.key or ./relay.key)", NULL},
  {"allow-insecure-identity", "relay", T_BOOL, 0, NULL,
      "Use an identity file that group or others can read", NULL},
  {"metrics", "relay", T_STRING, 'm', "ADDR:PORT",
      "Serve Prometheus metrics on http://ADDR:PORT/metrics", NULL},
  {"debug", "relay", T_STRING, 'd', "SPEC",
      "Log levels, e.g. 'wzprelay:5,wzpquic:4'", NULL},
  {"ring-timeout", "relay", T_SECONDS, 0, "SECONDS",
      "Seconds a call may ring (default 30)", "ring-timeout", 0.001, 3600},
  {"max-connections", "limits", T_UINT, 0, "N",
      "Connections open at once (default 20000)", "max-connections"},
  {"max-connections-per-source", "limits", T_UINT, 0, "N",
        "Connections from one IPv4 address or IPv6 /64 (default 256)",
      "max-connections-per-source"},
  {"max-half-open", "limits", T_UINT, 0, "N",
      "Handshakes in progress at once (default 1000)", "max-half-open"},
  {"max-half-open-per-source", "limits", T_UINT, 0, "N",
        "Handshakes in progress from one source (default 32)",
      "max-half-open-per-source"},
  {"retry", "limits", T_RETRY, 0, "auto|always|never",
      "Stateless Retry (address validation) for new clients (default "
        "auto: under load)", "retry"},
  {"retry-threshold", "limits", T_UINT, 0, "N",
      "retry=auto: Retry once this many handshakes are in progress "
        "(default 64)", "retry-threshold"},
  {"retry-threshold-per-source", "limits", T_UINT, 0, "N",
      "retry=auto: Retry a source with this many handshakes in "
        "progress (default 8)", "retry-threshold-per-source"},
  {"handshake-timeout", "limits", T_SECONDS, 0, "SECONDS",
        "Seconds a handshake may take (default 10)", "handshake-timeout",
      0.1, 600},
  {"max-registrations", "limits", T_UINT, 0, "N",
      "Identities registered at once (default 10000)", "max-registrations"},
  {"max-registrations-per-source", "limits", T_UINT, 0, "N",
        "Identities registered from one source (default 128)",
      "max-registrations-per-source"},
  {"registration-timeout", "limits", T_SECONDS, 0, "SECONDS",
        "Seconds a connection has to register (default 5)",
      "registration-timeout", 0.1, 3600},
  {"max-pending-probes", "limits", T_UINT, 0, "N",
      "NAT probes pending at once (default 4096)", "max-pending-probes"},
  {"max-pending-probes-per-client", "limits", T_UINT, 0, "N",
        "NAT probes one client may have pending (default 4)",
      "max-pending-probes-per-client"},
  {"message-rate", "limits", T_UINT, 0, "PER_SECOND",
        "Signaling messages per second per connection (default 50)",
      "message-rate"},
  {"message-burst", "limits", T_UINT, 0, "N",
        "Signaling messages at once per connection (default 500)",
      "message-burst"},
  {"max-room-members", "limits", T_UINT, 0, "N",
      "Members per room (default 64)", "max-room-members"},
  {"redis", "cluster", T_REDIS_URL, 0, "URL",
      "Join a cluster through this Redis: redis://HOST:PORT[/DB] or "
        "unix:/PATH (docs/CLUSTER.md)", NULL},
  {"redis-password", "cluster", T_SECRET, 0, "PASSWORD",
      "Redis's password (better in the config file than here)", NULL},
  {"advertise", "cluster", T_ADDRESS, 0, "IP:PORT",
      "Where clients and other nodes reach the listen port (default: the "
        "listen address)", NULL},
  {"drain-timeout", "cluster", T_SECONDS, 0, "SECONDS",
      "On SIGTERM, wait this long for calls to end before moving them "
        "(default 60)", "drain-timeout", 0, 3600},
};

#define N_OPTIONS G_N_ELEMENTS (options)

static const char *const sections[] = { "relay", "limits", "cluster" };

typedef struct
{
  char *text;                   /* as given */
  guint line;                   /* in the config file; 0: command line */
  GValue value;                 /* parsed, for properties */
  gboolean set;
} Value;

struct _WzpRelayConfig
{
  char *cli[N_OPTIONS];
  gboolean cli_flag[N_OPTIONS];
  char *config_path;
  gboolean check;
  gboolean version;
  Value values[N_OPTIONS];
};

WzpRelayConfig *
wzp_relay_config_new (void)
{
  return g_new0 (WzpRelayConfig, 1);
}

void
wzp_relay_config_free (WzpRelayConfig * self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < N_OPTIONS; i++) {
    g_free (self->cli[i]);
    g_free (self->values[i].text);
    if (G_IS_VALUE (&self->values[i].value))
      g_value_unset (&self->values[i].value);
  }
  g_free (self->config_path);
  g_free (self);
}

static int
find_option (const char *name)
{
  for (guint i = 0; i < N_OPTIONS; i++)
    if (strcmp (options[i].name, name) == 0)
      return i;
  return -1;
}

/* --- values ----------------------------------------------------------- */

static gboolean
parse_uint64 (const char *text, guint64 * out)
{
  char *end = NULL;

  if (text[0] == '\0' || !g_ascii_isdigit (text[0]))
    return FALSE;
  errno = 0;
  *out = g_ascii_strtoull (text, &end, 10);
  return errno == 0 && *end == '\0';
}

static gboolean
parse_bool (const char *text, gboolean * out)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++) {
    if (g_ascii_strcasecmp (text, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp (text, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  return FALSE;
}

/* Checks @v->text against @o's type and range; fills @v->value for
 * properties.  On error, says what is wrong with the value only (the
 * caller says where it came from). */
static gboolean
parse_value (const Option * o, Value * v, char **problem)
{
  GParamSpec *pspec = NULL;

  if (o->property) {
    static GObjectClass *klass;

    if (klass == NULL)
      klass = g_type_class_ref (WZP_TYPE_RELAY);
    pspec = g_object_class_find_property (klass, o->property);
  }
  switch (o->type) {
    case T_STRING:
    case T_FILE:
    case T_SECRET:
      if (v->text[0] == '\0') {
        *problem = g_strdup ("empty value");
        return FALSE;
      }
      return TRUE;
    case T_ADDRESS:{
      WzpAddr a;
      if (!wzp_addr_parse (&a, v->text, NULL) || wzp_addr_port (&a) == 0) {
        *problem = g_strdup_printf ("'%s' is not IP:PORT", v->text);
        return FALSE;
      }
      return TRUE;
    }
    case T_REDIS_URL:{
#ifdef WZP_HAVE_HIREDIS
      RelayRedisTarget t = { 0 };
      g_autoptr (GError) e = NULL;
      if (!relay_redis_target_parse (v->text, &t, &e)) {
        *problem = g_strdup (e->message);
        return FALSE;
      }
      relay_redis_target_clear (&t);
      return TRUE;
#else
      *problem = g_strdup ("this wzp-relay was built without hiredis: no "
          "Redis cluster");
      return FALSE;
#endif
    }
    case T_BOOL:{
      gboolean b;
      if (!parse_bool (v->text, &b)) {
        *problem = g_strdup_printf ("'%s' is not true or false", v->text);
        return FALSE;
      }
      g_free (v->text);
      v->text = g_strdup (b ? "true" : "false");
      return TRUE;
    }
    case T_UINT:{
      GParamSpecUInt *u = G_PARAM_SPEC_UINT (pspec);
      guint64 n;
      if (!parse_uint64 (v->text, &n) || n < u->minimum || n > u->maximum) {
        *problem = g_strdup_printf ("'%s' is not a whole number from %u to "
            "%u", v->text, u->minimum, u->maximum);
        return FALSE;
      }
      g_value_init (&v->value, G_TYPE_UINT);
      g_value_set_uint (&v->value, (guint) n);
      return TRUE;
    }
    case T_SECONDS:{
      char *end = NULL;
      double s = g_ascii_strtod (v->text, &end);
      if (end == v->text || *end != '\0' || !(s >= o->min_s) ||
          !(s <= o->max_s)) {
        *problem = g_strdup_printf ("'%s' is not a number of seconds from %g "
            "to %g", v->text, o->min_s, o->max_s);
        return FALSE;
      }
      g_value_init (&v->value, G_TYPE_UINT64);
      g_value_set_uint64 (&v->value, (guint64) (s * WZP_NSEC_PER_SEC + 0.5));
      return TRUE;
    }
    case T_RETRY:{
      WzpRetryMode mode;
      if (!wzp_retry_mode_from_string (v->text, &mode)) {
        *problem = g_strdup_printf ("'%s' is not auto, always or never",
            v->text);
        return FALSE;
      }
      g_value_init (&v->value, WZP_TYPE_RETRY_MODE);
      g_value_set_enum (&v->value, mode);
      return TRUE;
    }
  }
  g_assert_not_reached ();
}

/* --- the config file -------------------------------------------------- */

static gboolean
load_file (WzpRelayConfig * self, const char *path, GError ** error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) local = NULL;
  guint seen_line[N_OPTIONS] = { 0 };
  char *file_text[N_OPTIONS] = { 0 };
  const char *section = NULL;
  gboolean ok = TRUE;

  if (!g_file_get_contents (path, &contents, NULL, &local)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_NOT_FOUND,
        "cannot read config file: %s", local->message);
    return FALSE;
  }
  if (!g_utf8_validate (contents, -1, NULL)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
        "%s: not UTF-8 text", path);
    return FALSE;
  }
  lines = g_strsplit (contents, "\n", -1);
  for (guint n = 0; ok && lines[n]; n++) {
    char *line = g_strstrip (lines[n]);
    guint lineno = n + 1;
    char *eq, *key, *value;
    int i;

    if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
      continue;
    if (line[0] == '[') {
      size_t len = strlen (line);
      section = NULL;
      if (line[len - 1] == ']') {
        line[len - 1] = '\0';
        for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
          if (strcmp (g_strstrip (line + 1), sections[s]) == 0)
            section = sections[s];
      }
      if (section == NULL) {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
            "%s:%u: unknown section [%s] (there are [relay], [limits] and "
            "[cluster])", path, lineno, line + 1);
        ok = FALSE;
      }
      continue;
    }
    eq = strchr (line, '=');
    if (eq == NULL) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
          "%s:%u: expected 'key = value' or '[section]', not '%s'", path,
          lineno, line);
      ok = FALSE;
      continue;
    }
    *eq = '\0';
    key = g_strstrip (line);
    value = g_strstrip (eq + 1);
    if (section == NULL) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
          "%s:%u: key '%s' before any [section]", path, lineno, key);
      ok = FALSE;
      continue;
    }
    i = find_option (key);
    if (i < 0) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
          "%s:%u: unknown key '%s' in [%s]", path, lineno, key, section);
      ok = FALSE;
    } else if (strcmp (options[i].section, section) != 0) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
          "%s:%u: key '%s' belongs in [%s], not [%s]", path, lineno, key,
          options[i].section, section);
      ok = FALSE;
    } else if (seen_line[i]) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
          "%s:%u: key '%s' was already set on line %u", path, lineno, key,
          seen_line[i]);
      ok = FALSE;
    } else {
      seen_line[i] = lineno;
      file_text[i] = g_strdup (value);
    }
  }
  /* Values the command line did not give. */
  for (guint i = 0; i < N_OPTIONS; i++) {
    if (ok && file_text[i] && !self->values[i].set) {
      g_autofree char *problem = NULL;
      Value *v = &self->values[i];

      v->text = g_steal_pointer (&file_text[i]);
      v->line = seen_line[i];
      v->set = TRUE;
      if (!parse_value (&options[i], v, &problem)) {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
            "%s:%u: key '%s': %s", path, v->line, options[i].name, problem);
        ok = FALSE;
      }
    }
    g_free (file_text[i]);
  }
  return ok;
}

/* --- the command line ------------------------------------------------- */

gboolean
wzp_relay_config_load (WzpRelayConfig * self, int *argc, char ***argv,
    GError ** error)
{
  g_autoptr (GOptionContext) octx = g_option_context_new ("- wzp relay");
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  GOptionEntry extra[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &self->config_path,
          "Config file ([relay], [limits], [cluster]; see docs/RELAY.md)",
        "FILE"},
    {"check-config", 0, 0, G_OPTION_ARG_NONE, &self->check,
        "Check the options and config file, print them, and exit", NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &self->version, "Print the version",
        NULL},
  };

  for (guint i = 0; i < N_OPTIONS; i++) {
    GOptionEntry e = { 0 };

    e.long_name = options[i].name;
    e.short_name = options[i].short_name;
    e.description = options[i].help;
    e.arg_description = options[i].arg;
    if (options[i].type == T_BOOL) {
      e.arg = G_OPTION_ARG_NONE;
      e.arg_data = &self->cli_flag[i];
    } else {
      e.arg = options[i].type == T_FILE ? G_OPTION_ARG_FILENAME :
          G_OPTION_ARG_STRING;
      e.arg_data = &self->cli[i];
    }
    g_array_append_val (entries, e);
  }
  g_array_append_vals (entries, extra, G_N_ELEMENTS (extra));
  g_option_context_add_main_entries (octx, (GOptionEntry *) entries->data,
      NULL);
  g_option_context_set_description (octx, "Every option is also a key of "
      "the config file, in [relay] (listen .. ring-timeout), [limits] "
      "(max-connections .. max-room-members) or [cluster] (redis .. "
      "drain-timeout); the command line wins.\nExit status: 0 ok, 1 could "
      "not start or run, 2 bad command line or config file.\n");
  if (!g_option_context_parse (octx, argc, argv, error))
    return FALSE;
  if (*argc > 1) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
        "unexpected argument '%s'", (*argv)[1]);
    return FALSE;
  }

  for (guint i = 0; i < N_OPTIONS; i++) {
    Value *v = &self->values[i];
    g_autofree char *problem = NULL;

    if (options[i].type == T_BOOL) {
      if (!self->cli_flag[i])
        continue;
      v->text = g_strdup ("true");
    } else if (self->cli[i]) {
      v->text = g_strdup (self->cli[i]);
    } else {
      continue;
    }
    v->set = TRUE;
    if (!parse_value (&options[i], v, &problem)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "--%s: %s", options[i].name, problem);
      return FALSE;
    }
  }
  if (self->config_path && !load_file (self, self->config_path, error))
    return FALSE;
  return TRUE;
}

const char *
wzp_relay_config_get (WzpRelayConfig * self, const char *name)
{
  int i = find_option (name);

  if (g_strcmp0 (name, "config") == 0)
    return self->config_path;
  g_return_val_if_fail (i >= 0, NULL);
  return self->values[i].set ? self->values[i].text : NULL;
}

gboolean
wzp_relay_config_get_flag (WzpRelayConfig * self, const char *name)
{
  if (g_strcmp0 (name, "check-config") == 0)
    return self->check;
  if (g_strcmp0 (name, "version") == 0)
    return self->version;
  return g_strcmp0 (wzp_relay_config_get (self, name), "true") == 0;
}

void
wzp_relay_config_apply (WzpRelayConfig * self, WzpRelay * relay)
{
  for (guint i = 0; i < N_OPTIONS; i++)
    if (options[i].property && self->values[i].set)
      g_object_set_property (G_OBJECT (relay), options[i].property,
          &self->values[i].value);
}

char *
wzp_relay_config_dump (WzpRelayConfig * self, WzpRelay * relay)
{
  GString *out = g_string_new (NULL);

  for (guint s = 0; s < G_N_ELEMENTS (sections); s++) {
    g_string_append_printf (out, "%s[%s]\n", s ? "\n" : "", sections[s]);
    for (guint i = 0; i < N_OPTIONS; i++) {
      const Option *o = &options[i];
      GValue v = G_VALUE_INIT;

      if (strcmp (o->section, sections[s]) != 0)
        continue;
      if (o->property == NULL) {
        const char *def = "";

        for (guint d = 0; d < G_N_ELEMENTS (daemon_defaults); d++)
          if (strcmp (daemon_defaults[d].name, o->name) == 0)
            def = daemon_defaults[d].text;
        if (self->values[i].set && o->type == T_SECRET)
          g_string_append_printf (out, "%s = (set, not shown)\n", o->name);
        else if (self->values[i].set)
          g_string_append_printf (out, "%s = %s\n", o->name,
              self->values[i].text);
        else
          g_string_append_printf (out, "# %s = %s (default)\n", o->name, def);
        continue;
      }
      g_object_get_property (G_OBJECT (relay), o->property, &v);
      if (o->type == T_UINT)
        g_string_append_printf (out, "%s = %u\n", o->name,
            g_value_get_uint (&v));
      else if (o->type == T_SECONDS)
        g_string_append_printf (out, "%s = %g\n", o->name,
            g_value_get_uint64 (&v) / (double) WZP_NSEC_PER_SEC);
      else if (o->type == T_RETRY)
        g_string_append_printf (out, "%s = %s\n", o->name,
            wzp_retry_mode_to_string (g_value_get_enum (&v)));
      g_value_unset (&v);
    }
  }
  return g_string_free (out, FALSE);
}
