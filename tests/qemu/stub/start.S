/*
 * Start-up and EL2 exception vectors of the AT cross-check stub. QEMU enters
 * at _start in EL2 with every MMU off; the stub never leaves EL2, so the
 * tables under test never have to map the stub itself.
 */
    .section .text.start, "ax"
    .global _start
_start:
    ldr     x0, =__stack_top
    mov     sp, x0
    adr     x0, el2_vectors
    msr     vbar_el2, x0
    isb
    /* QEMU's ELF loader zero-fills .bss today; do not rely on it */
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  bl      stub_main
3:  wfi
    b       3b

/*
 * The only exception the stub expects is the synchronous Data Abort an AT
 * takes when its walk reads non-RAM (EC 0x25, CM = 1). It is recorded in
 * g_at_esr and the AT is skipped, so the host sees the abort per entry.
 * Anything else is a stub bug: report it and stop.
 */
    .text
    .balign 2048
el2_vectors:
    .irp n, 0, 1, 2, 3
    .balign 128
    mov     x0, #\n
    b       unexpected
    .endr
    .balign 128             /* current EL, SP_ELx, synchronous */
    b       at_abort
    .irp n, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    mov     x0, #\n
    b       unexpected
    .endr

at_abort:
    stp     x0, x1, [sp, #-16]!
    mrs     x0, esr_el2
    lsr     x1, x0, #26
    cmp     x1, #0x25
    b.ne    4f
    tbz     x0, #8, 4f
    adrp    x1, g_at_esr
    add     x1, x1, :lo12:g_at_esr
    str     x0, [x1]
    mrs     x0, elr_el2
    add     x0, x0, #4
    msr     elr_el2, x0
    ldp     x0, x1, [sp], #16
    eret
4:  ldp     x0, x1, [sp], #16
    mov     x0, #4
unexpected:
    b       stub_unexpected
