/*
 * fuzz-manager.c - a libFuzzer target for the manager's frame and request
 * parser: any bytes at all, fed to the server as if a client had sent
 * them, must get replies, never a crash, a hang, a leak or undefined
 * behaviour (it is built with AddressSanitizer and UBSan).
 *
 * `make test` runs it for a bounded time from the seeds in
 * tests/fuzz-corpus/manager/; `make fuzz` runs it for as long as you like.
 */
#include <stddef.h>
#include <stdint.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    server_feed(data, size);
    return 0;
}
