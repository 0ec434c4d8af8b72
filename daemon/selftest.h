/* SPDX-License-Identifier: MIT */
#ifndef MG_SELFTEST_H
#define MG_SELFTEST_H

#include <stdio.h>

/* Known-answer and round-trip checks of the crypto and the handshake, reported one line each to out.
 * Returns the number of failed checks. Runs at start-up with --self-check. */
int selftest_run(FILE *out);

#endif
