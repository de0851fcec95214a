/* wzp — symbol visibility and version
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* The library is built with -fvisibility=hidden; WZP_API marks what it
 * exports.  Tests link the internal static library and see everything. */
#if defined(WZP_COMPILATION) && defined(__GNUC__)
#define WZP_API __attribute__ ((visibility ("default"))) extern
#else
#define WZP_API extern
#endif

#define WZP_PROTOCOL_VERSION 1
#define WZP_ALPN "wzp"
