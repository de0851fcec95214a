/* Tests for WzpNetWatch: the kernel's address and route events, settled
 * into one "changed" per burst.
 *
 * Needs root and iproute2 (it makes its own network namespace, so the
 * host's network is not touched); skipped otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wzp-netwatch.h"
#include "wzp-test-util.h"

static void
on_changed (WzpNetWatch * watch, guint * count)
{
  (*count)++;
}

static gboolean
ip (const char *args)
{
  g_autofree char *cmd = g_strdup_printf ("ip %s", args);
  gint status = 0;

  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) &&
      g_spawn_check_wait_status (status, NULL);
}

/* In a fresh network namespace: exit status 0 if all went as expected. */
static int
child (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WzpNetWatch) watch = NULL;
  g_autoptr (GError) error = NULL;
  guint count = 0;

  g_main_context_push_thread_default (ctx);
  watch = wzp_netwatch_new (ctx, NULL, &error);
  if (watch == NULL) {
    g_printerr ("netwatch: %s\n", error->message);
    return 2;
  }
  g_signal_connect (watch, "changed", G_CALLBACK (on_changed), &count);

  /* Nothing happens: nothing is reported. */
  wzp_test_run_for (ctx, 150);
  if (count != 0)
    return 3;
  /* A link, an address and a route at once: one change, once settled. */
  if (!ip ("link add wzpt0 type veth peer name wzpt1") ||
      !ip ("addr add 192.0.2.1/24 dev wzpt0") || !ip ("link set wzpt0 up"))
    return 4;
  wzp_test_run_for (ctx, 20);
  if (count != 0)
    return 5;                   /* not settled yet */
  wzp_test_run_for (ctx, 300);
  if (count != 1 || wzp_netwatch_get_changes (watch) != 1)
    return 6;
  /* An address moves (the old one goes, a new one comes): one more. */
  if (!ip ("addr add 192.0.2.11/24 dev wzpt0") ||
      !ip ("addr del 192.0.2.1/24 dev wzpt0"))
    return 7;
  wzp_test_run_for (ctx, 300);
  if (count != 2)
    return 8;
  g_main_context_pop_thread_default (ctx);
  return 0;
}

static void
test_changes (void)
{
  g_autofree char *ip_path = g_find_program_in_path ("ip");
  pid_t pid;
  int status = 0;

  if (geteuid () != 0 || ip_path == NULL) {
    g_test_skip ("needs root and iproute2 (a network namespace of its own)");
    return;
  }
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0) {
    if (unshare (CLONE_NEWNET) != 0)
      _exit (1);
    _exit (child ());
  }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) == 1) {
    g_test_skip ("no network namespace (unshare refused)");
    return;
  }
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netwatch/changes", test_changes);
  return g_test_run ();
}
