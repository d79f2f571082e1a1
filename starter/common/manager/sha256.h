/*
 * sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the
 * manager's challenge-response authentication. Small and plain, checked
 * against the RFC 4231 test vectors in tests/manager.c.
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256 {
    uint32_t h[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;          /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);

/* out = HMAC-SHA256(key, a || b): b may be NULL. */
void hmac_sha256(const void *key, size_t key_len, const void *a, size_t a_len,
                 const void *b, size_t b_len, uint8_t out[SHA256_BYTES]);

/* 1 if the n bytes at x and y are equal; the time taken does not depend on where they differ. */
int equal_in_constant_time(const void *x, const void *y, size_t n);

#endif
