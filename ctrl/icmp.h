/* SPDX-License-Identifier: MIT */
/* ICMP errors for packets the workers could not forward (icmp.c). */
#ifndef MG_ICMP_H
#define MG_ICMP_H

/* Answers what the workers asked for since the last turn; returns how many requests it took. */
unsigned int icmp_turn(void);

#endif
