/* wzp — what is running: process metrics (CPU, memory, file descriptors,
 * start time) under the names Prometheus' own client libraries use, and
 * a build-info gauge
 *
 * Read from /proc on each scrape (a few small reads); a value that
 * cannot be read is left out rather than reported as 0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <openssl/crypto.h>
#ifdef WZP_HAVE_SOUP
#include <libsoup/soup.h>
#endif

static void
gauge (GString * out, const char *name, const char *type, const char *help,
    double value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n",
      name, help, name, type, name, value);
}

/* Seconds since the epoch at which this process started: the boot time
 * (/proc/stat "btime") plus the process start in clock ticks after boot
 * (field 22 of /proc/self/stat). */
static gboolean
start_time (double *out)
{
  g_autofree char *stat = NULL;
  g_autofree char *self = NULL;
  const char *p;
  guint64 btime = 0, ticks = 0;
  long hz = sysconf (_SC_CLK_TCK);

  if (!g_file_get_contents ("/proc/stat", &stat, NULL, NULL) ||
      (p = strstr (stat, "\nbtime ")) == NULL ||
      sscanf (p + 7, "%" G_GUINT64_FORMAT, &btime) != 1)
    return FALSE;
  if (!g_file_get_contents ("/proc/self/stat", &self, NULL, NULL))
    return FALSE;
  /* The command name (field 2) may hold spaces and parentheses: count
   * fields from the last ')'. */
  p = strrchr (self, ')');
  if (p == NULL || hz <= 0)
    return FALSE;
  p++;
  for (guint field = 2; field < 21 && p; field++)
    p = strchr (p + 1, ' ');
  if (p == NULL || sscanf (p + 1, "%" G_GUINT64_FORMAT, &ticks) != 1)
    return FALSE;
  *out = (double) btime + (double) ticks / hz;
  return TRUE;
}

static gboolean
count_fds (guint * n)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);

  if (dir == NULL)
    return FALSE;
  *n = 0;
  while (g_dir_read_name (dir))
    (*n)++;
  g_dir_close (dir);
  /* One is the directory we just read. */
  if (*n > 0)
    (*n)--;
  return TRUE;
}

void
_wzp_relay_process_metrics (GString * out)
{
  struct rusage ru;
  struct rlimit rl;
  guint64 pages_total, pages_resident;
  g_autofree char *statm = NULL;
  long page = sysconf (_SC_PAGESIZE);
  double started;
  guint fds;

  if (getrusage (RUSAGE_SELF, &ru) == 0)
    gauge (out, "process_cpu_seconds_total", "counter",
        "Total user and system CPU time spent in seconds.",
        ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
        ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL) &&
      sscanf (statm, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
          &pages_total, &pages_resident) == 2 && page > 0) {
    gauge (out, "process_virtual_memory_bytes", "gauge",
        "Virtual memory size in bytes.", (double) pages_total * page);
    gauge (out, "process_resident_memory_bytes", "gauge",
        "Resident memory size in bytes.", (double) pages_resident * page);
  }
  if (count_fds (&fds))
    gauge (out, "process_open_fds", "gauge",
        "Number of open file descriptors.", fds);
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    gauge (out, "process_max_fds", "gauge",
        "Maximum number of open file descriptors.", (double) rl.rlim_cur);
  if (start_time (&started))
    gauge (out, "process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.", started);

  g_string_append_printf (out, "# HELP wzp_relay_build_info The relay's "
      "version and the versions of the libraries it runs on (always 1).\n"
      "# TYPE wzp_relay_build_info gauge\n"
      "wzp_relay_build_info{version=\"%s\",ngtcp2=\"%s\",gnutls=\"%s\","
      "openssl=\"%s\",glib=\"%u.%u.%u\"", WZP_VERSION,
      ngtcp2_version (0)->version_str, gnutls_check_version (NULL),
      OpenSSL_version (OPENSSL_VERSION_STRING), glib_major_version,
      glib_minor_version, glib_micro_version);
#ifdef WZP_HAVE_SOUP
  g_string_append_printf (out, ",libsoup=\"%u.%u.%u\"",
      soup_get_major_version (), soup_get_minor_version (),
      soup_get_micro_version ());
#endif
  g_string_append (out, "} 1\n");
}
