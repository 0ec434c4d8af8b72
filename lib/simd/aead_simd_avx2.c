/* SPDX-License-Identifier: MIT */
/* AVX2 level (-mavx2): 8 lanes, Poly1305 in 26-bit limbs. The engine is aead_lanes_x8.h. */
#include "aead_lanes_x8.h"
