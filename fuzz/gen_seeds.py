#!/usr/bin/env python3
"""Write the hand-made seed inputs of fuzz/corpus/<target>/.

Run from anywhere: python3 fuzz/gen_seeds.py. The layouts are described in
fuzz_pgtable.c (decode_op) and fuzz_vmsa.c (decode_config and friends).
Seeds are small and deliberate; libFuzzer grows the corpus from them.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- fuzz_pgtable: 6-byte operations ----------------------------------------
MAP, MAP2, BLOCK, UNMAP, RT_UNMAP, CONTROL, RESERVED, UNMAP_WIN = range(8)
# control commands: NONCACHE, CACHE, READONLY, READWRITE, OFFLOAD, INSTALL
NONCACHE, CACHE, READONLY, READWRITE, OFFLOAD = range(5)
# attribute indices into k_attrs
K_RWCB, K_DEVICE, U_RWCB, U_DEVICE, U_TRACE = 2, 4, 7, 9, 12


def op(kind, win=0, attr=U_RWCB, src=0, offset=0, size=0, b5=0,
       inject=0, caller_error=False, size_zero=False):
    b0 = kind
    if inject:
        b0 |= 0x08 | ((inject - 1) << 4)
    if caller_error:
        b0 |= 0x40
    if size_zero:
        b0 |= 0x80
    b1 = win | (attr << 2) | (src << 6)
    return struct.pack("<BBHBB", b0, b1, offset, size, b5)


def pages(n):
    """b4 for n pages (1..128)."""
    assert 1 <= n <= 128
    return n - 1


PGTABLE_SEEDS = {
    # pages straddling the 2 MiB and 1 GiB boundaries, then holes punched in them
    "cross-boundary-pages": [
        op(MAP, win=0, offset=510, size=pages(4)),
        op(UNMAP, win=0, offset=511, size=pages(2)),
        op(MAP, win=1, offset=500, size=pages(40), src=1, b5=7),
        op(RT_UNMAP, win=1, offset=505, size=pages(10)),
    ],
    # two 2 MiB blocks, a partial unmap that splits one, control on what is left
    "block-split": [
        op(BLOCK, win=1, offset=0, size=1, src=0),
        op(UNMAP, win=1, offset=700, size=pages(3)),
        op(CONTROL, win=1, offset=0, size=0x80 | 63, b5=READONLY),
        op(CONTROL, win=1, offset=512, size=pages(1), b5=NONCACHE),
        op(UNMAP_WIN, win=1),
    ],
    # every allocation of a fresh map fails once, then a split fails
    "inject": [
        op(MAP, win=2, offset=1000, size=pages(24), inject=1),
        op(MAP, win=2, offset=1000, size=pages(24), inject=3),
        op(MAP, win=2, offset=1000, size=pages(24), inject=4),
        op(BLOCK, win=0, offset=1, size=0, src=1, inject=2),
        op(UNMAP, win=0, offset=600, size=pages(1), inject=1),
        op(UNMAP, win=0, offset=600, size=pages(1)),
    ],
    # caller errors: pages over a block, a block over pages, misaligned args
    "caller-errors": [
        op(BLOCK, win=0, offset=0, size=0, src=0),
        op(MAP, win=0, offset=10, size=pages(2)),
        op(MAP, win=0, offset=600, size=pages(1)),
        op(BLOCK, win=0, offset=1, size=0, src=0),
        op(MAP, win=0, offset=5, size=pages(1), caller_error=True, b5=0x00),
        op(MAP, win=0, offset=5, size=pages(1), caller_error=True, b5=0x10),
        op(MAP, win=0, offset=5, size=pages(1), caller_error=True, b5=0x20),
        op(UNMAP, win=2, offset=1020, size=pages(4), caller_error=True, b5=0x30),
        op(CONTROL, win=0, offset=0, size=pages(1), caller_error=True, b5=CACHE),
    ],
    # kernel window: device and cached mappings, control refusing device memory
    "kernel": [
        op(MAP, win=3, attr=K_DEVICE, src=2, offset=508, size=pages(8)),
        op(BLOCK, win=3, attr=K_RWCB, src=1, offset=1, size=0),
        op(CONTROL, win=3, offset=500, size=pages(16), b5=NONCACHE),
        op(CONTROL, win=3, offset=512, size=0x80 | 63, b5=CACHE),
        op(CONTROL, win=3, offset=512, size=pages(1), b5=OFFLOAD),
        op(UNMAP, win=3, offset=256, size=0x80 | 100),
    ],
    # reservations, a top-of-PA source, AF-clear attributes, size-zero calls
    "reserve-and-edges": [
        op(RESERVED, win=2, offset=0, size=0x80 | 127, src=3),
        op(RESERVED, win=0, offset=512, size=pages(5), inject=2),
        op(MAP, win=1, offset=2, size=pages(3), attr=U_TRACE),
        op(MAP, win=0, offset=3, size_zero=True),
        op(UNMAP, win=0, offset=3, size_zero=True),
        op(CONTROL, win=0, offset=3, size_zero=True, b5=READWRITE),
    ],
}

# ---- fuzz_vmsa ----------------------------------------------------------------
# Layout (fuzz_vmsa.c): config 16 bytes, VA 8, access 1, then per walk level a
# flag byte and a raw descriptor (8), then (u16 offset, u64 raw) sprinkles.
def vmsa_seed(mode, g0, g1, txsz0, txsz1, flags, ips, parange, sctlr_bits,
              mair, asid, va, access, chain, sprinkles=()):
    cfg = struct.pack("<BBBBBBBBBBHI", mode, g0, g1, txsz0, txsz1,
                      flags & 0xff, (flags >> 8) & 0xff, ips, parange,
                      sctlr_bits, asid, mair & 0xffffffff)
    body = cfg + struct.pack("<QB", va, access)
    for flag, raw in chain:
        body += struct.pack("<BQ", flag, raw)
    for off, raw in sprinkles:
        body += struct.pack("<HQ", off, raw)
    return body


LINK, LEAF, RAW = 1, 2, 0
VMSA_SEEDS = {
    # RT-Thread's regime: 4K, 48-bit, a 4-level chain to a page
    "rt-4k-page": vmsa_seed(0, 0, 0, 0, 0, 0, 5, 5, 0, 0x00447f, 1,
                            0x0000_1234_5678_9abc, 0x00,
                            [(LINK, 0), (LINK, 0), (LINK, 0), (LEAF, 0x0040_0000_0000_0743)]),
    # 4K with DS: a 52-bit VA starting at level -1, a level-0 block
    "4k-ds-block": vmsa_seed(0x10, 0, 0, 0, 0, 0x01, 6, 6, 0, 0x00447f, 2,
                             0x000f_ffff_ffff_f000, 0x01,
                             [(LINK, 0), (LEAF, 0x0000_0000_0000_0401)]),
    # 16K granule, upper half, 2-level walk to a 32 MiB block, HA set
    "16k-upper-block": vmsa_seed(0x04, 2, 2, 20, 20, 0x02, 5, 5, 1, 0x00ff44, 3,
                                 0xffff_f000_0123_4567, 0x10,
                                 [(LINK, 0), (LINK, 0), (LEAF, 0x0060_0000_0000_0001)]),
    # 64K granule with LPA, hardware dirty updates through write64
    "64k-lpa-dbm": vmsa_seed(0x06, 1, 1, 22, 22, 0x06, 6, 6, 0, 0x00447f, 4,
                             0x0000_0300_0000_1234, 0x11,
                             [(LINK, 0), (LINK, 0), (LEAF, 0x0008_0000_0000_00c3)]),
    # raw random registers and descriptors, a translation fault, sprinkles
    "raw-regs": vmsa_seed(0x01, 0xaa, 0x55, 7, 63, 0xffff, 7, 0xff, 0xff, 0x1234_5678, 0xffff,
                          0x8000_0000_0000_0000, 0xff,
                          [(RAW, 0xffff_ffff_ffff_ffff), (RAW, 3)],
                          [(8, 0x0000_0000_4000_0003), (0x1ff8, 0x0000_0000_0000_0001)]),
    # stage 1 disabled
    "mmu-off": vmsa_seed(0x08, 0, 0, 0, 0, 0, 5, 2, 0, 0, 0,
                         0x0000_00ff_ffff_fff8, 0x02, []),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    for name, ops in PGTABLE_SEEDS.items():
        write("pgtable", name, b"".join(ops))
    for name, data in VMSA_SEEDS.items():
        write("vmsa", name, data)


if __name__ == "__main__":
    main()
