/* SPDX-License-Identifier: MIT */
/* The shared device state's life cycle (device_setup.c). */
#ifndef MG_DEVICE_SETUP_H
#define MG_DEVICE_SETUP_H

#include <stdint.h>

/* The pool (port_mbufs for the ports' descriptors, plus what the rings and the reassembly tables
 * can hold, each mbuf with room for the largest frame the MTUs allow), the rings, RCU for
 * n_workers. 0 or -errno; device_destroy() undoes what was done, either way, and returns how many
 * mbufs were still out of the pool once the rings were drained (a leak). */
int device_create(unsigned int n_workers, unsigned int port_mbufs, uint16_t inner_mtu, uint16_t wan_mtu);
unsigned int device_destroy(void);
/* Gateway mode: mg_dev.lan and its rings (after device_create; device_destroy frees them). The
 * mbufs its rings and the control thread's waiting packets can hold, for the pool's size. */
#define MG_LAN_RING_MBUFS (256 + 1024 + 1024 + 256)
int device_create_lan(void);
/* The pool's data room (headroom included) for these MTUs. */
uint16_t device_data_room(uint16_t inner_mtu, uint16_t wan_mtu);

#endif
