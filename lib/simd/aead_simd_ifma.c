/* SPDX-License-Identifier: MIT */
/*
 * AVX-512 IFMA level (-mavx512f -mavx512bw -mavx512vl -mavx512ifma): 16 lanes, Poly1305 in 52-bit
 * multiplies. The engine is aead_lanes_x16.h; this file only picks the Poly1305 form and the names.
 */
#include "poly1305_x16_ifma.h"

#define MG_LEVEL_FN(name) mg_simd_ifma_##name
#include "aead_lanes_x16.h"
