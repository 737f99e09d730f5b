/* The one entry point every fuzz target defines (libFuzzer's), declared here
 * so -Wmissing-prototypes holds and replay_main.c can call it. */
#ifndef MMSIM_FUZZ_TARGET_H
#define MMSIM_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Byte reader over a fuzz input: past the end it yields zeros, so every
 * input, however short, decodes to something. */
struct fuzz_reader
{
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static inline uint8_t fuzz_u8(struct fuzz_reader *rd)
{
    return rd->pos < rd->size ? rd->data[rd->pos++] : 0;
}

static inline uint16_t fuzz_u16(struct fuzz_reader *rd)
{
    uint16_t lo = fuzz_u8(rd);
    return (uint16_t)(lo | (uint16_t)fuzz_u8(rd) << 8);
}

static inline uint64_t fuzz_u64(struct fuzz_reader *rd)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)fuzz_u8(rd) << (8 * i);
    return v;
}

static inline size_t fuzz_left(const struct fuzz_reader *rd)
{
    return rd->pos < rd->size ? rd->size - rd->pos : 0;
}

#endif /* MMSIM_FUZZ_TARGET_H */
