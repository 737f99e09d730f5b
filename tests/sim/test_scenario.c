/* The scenario language (sim/scenario, docs/scenarios.md): what the parser
 * makes of each kind of line, every error message with its line and column,
 * and the executor's pass/fail/report contract on small texts. Parser tests
 * need no machine; run tests boot their own (mmsim_scenario_run does). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mmsim/alloc.h>
#include <mmsim/machine.h>
#include <mmsim/vmsa.h>
#include "fixture.h"
#include "scenario.h"
#include "simcpu.h"

/* ---- helpers ---- */

static struct mmsim_scenario *parse_ok(const char *text)
{
    struct mmsim_scenario_error err;
    struct mmsim_scenario *sc = mmsim_scenario_parse("t.scn", text, &err);
    if (!sc)
        fail_msg("unexpected parse error %d:%d: %s", err.line, err.col, err.msg);
    return sc;
}

static const struct mmsim_scenario_stmt *only(struct mmsim_scenario *sc, size_t i)
{
    const struct mmsim_scenario_stmt *s = mmsim_scenario_stmt(sc, i);
    assert_non_null(s);
    return s;
}

/* The last statement of `text`. */
static const struct mmsim_scenario_stmt *last(struct mmsim_scenario *sc)
{
    return only(sc, mmsim_scenario_count(sc) - 1);
}

static void expect_error(const char *text, int line, int col, const char *msg)
{
    struct mmsim_scenario_error err;
    struct mmsim_scenario *sc = mmsim_scenario_parse("t.scn", text, &err);
    if (sc) {
        mmsim_scenario_free(sc);
        fail_msg("parsed, expected %d:%d: %s", line, col, msg);
    }
    if (err.line != line || err.col != col || strcmp(err.msg, msg) != 0)
        fail_msg("got %d:%d: %s\nexpected %d:%d: %s", err.line, err.col, err.msg, line, col, msg);
}

#define PROC_P "process P\non cpu0 run P\n"

/* ---- lines that parse ---- */

static void test_scenario_empty_text_parses_to_nothing(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("");
    assert_int_equal(mmsim_scenario_count(sc), 0);
    assert_string_equal(mmsim_scenario_name(sc), "t.scn");
    mmsim_scenario_free(sc);
}

static void test_scenario_comments_and_blank_lines_are_ignored(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("# a comment\n\n   \t\nprocess P   # trailing comment\n  # indented\n");
    assert_int_equal(mmsim_scenario_count(sc), 1);
    const struct mmsim_scenario_stmt *s = only(sc, 0);
    assert_int_equal(s->kind, MMSIM_SC_PROCESS);
    assert_int_equal(s->line, 4);
    assert_string_equal(s->text, "process P");
    assert_string_equal(s->where, "t.scn:4: process P");
    mmsim_scenario_free(sc);
}

static void test_scenario_set_lines_fill_the_configuration(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("set ram 64M\nset cpus 4\nset tlb_entries 64\nset asid-bits 8\n"
                                         "set hw-af on\nset hw-dirty on\nset stale-check off\nset seed 0x2a\n"
                                         "set ram-base 0x48000000\nset livelock 4\n");
    const struct mmsim_scenario_config *c = mmsim_scenario_config(sc);
    assert_int_equal(mmsim_scenario_count(sc), 0); /* configuration is not a statement */
    assert_true(c->given[MMSIM_SC_KEY_RAM]);
    assert_int_equal(c->value[MMSIM_SC_KEY_RAM], 64u << 20);
    assert_int_equal(c->value[MMSIM_SC_KEY_CPUS], 4);
    assert_int_equal(c->value[MMSIM_SC_KEY_TLB_ENTRIES], 64);
    assert_int_equal(c->value[MMSIM_SC_KEY_ASID_BITS], 8);
    assert_int_equal(c->value[MMSIM_SC_KEY_HW_DIRTY], 1);
    assert_true(c->given[MMSIM_SC_KEY_STALE_CHECK]);
    assert_int_equal(c->value[MMSIM_SC_KEY_STALE_CHECK], 0);
    assert_int_equal(c->value[MMSIM_SC_KEY_SEED], 42);
    assert_int_equal(c->value[MMSIM_SC_KEY_RAM_BASE], 0x48000000);
    assert_false(c->given[MMSIM_SC_KEY_SW_AF]);
    assert_string_equal(mmsim_scenario_key_name(MMSIM_SC_KEY_TLB_ENTRIES), "tlb-entries");
    mmsim_scenario_free(sc);
}

static void test_scenario_sizes_accept_suffixes_and_pages(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("process P\nP mmap 0x10000000 8K\nP munmap 0x10000000 2 pages\n"
                                         "P map-private 0x2000_0000 0x3000\nP mmap 0x40000000 1 page\n");
    assert_int_equal(only(sc, 1)->kind, MMSIM_SC_MMAP);
    assert_int_equal(only(sc, 1)->size, 8192);
    assert_int_equal(only(sc, 2)->kind, MMSIM_SC_MUNMAP);
    assert_int_equal(only(sc, 2)->size, 8192);
    assert_int_equal(only(sc, 3)->kind, MMSIM_SC_MAP_PRIVATE);
    assert_int_equal(only(sc, 3)->va, 0x20000000);
    assert_int_equal(only(sc, 3)->size, 0x3000);
    assert_int_equal(only(sc, 4)->size, 4096);
    mmsim_scenario_free(sc);
}

static void test_scenario_string_escapes_decode(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P write 0x1000 \"a\\n\\t\\x41\\\"\\\\\\0#\"\n");
    const struct mmsim_scenario_stmt *s = last(sc);
    assert_int_equal(s->len, 8);
    assert_memory_equal(s->data, "a\n\tA\"\\\0#", 8);
    mmsim_scenario_free(sc);
}

static void test_scenario_data_items_concatenate(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P write 0x1000 \"ab\" hex 00ff fill 7 3 zeros 2 fill \"xy\" 3 "
                                                "u16 0x1234\n");
    const struct mmsim_scenario_stmt *s = last(sc);
    static const uint8_t want[] = { 'a', 'b', 0x00, 0xff, 7, 7, 7, 0, 0, 'x', 'y', 'x', 0x34, 0x12 };
    assert_int_equal(s->len, sizeof want);
    assert_memory_equal(s->data, want, sizeof want);
    assert_int_equal(s->width, 0); /* several items: a bulk write */
    mmsim_scenario_free(sc);
}

static void test_scenario_single_typed_item_is_a_sized_access(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P write 0x1000 u32 0xdeadbeef\nP read 0x1000 u64\n"
                                                "P read 0x1000 u8 expect 0xef\nexec 0x1000 expect u32 0xd503201f\n");
    assert_int_equal(only(sc, 2)->width, 4);
    assert_int_equal(only(sc, 2)->op, MMSIM_SC_WRITE);
    assert_memory_equal(only(sc, 2)->data, "\xef\xbe\xad\xde", 4);
    assert_int_equal(only(sc, 3)->width, 8);
    assert_false(only(sc, 3)->check_value);
    assert_int_equal(only(sc, 4)->width, 1);
    assert_true(only(sc, 4)->check_value);
    assert_int_equal(only(sc, 4)->data[0], 0xef);
    assert_int_equal(only(sc, 5)->op, MMSIM_SC_EXEC);
    assert_int_equal(only(sc, 5)->len, 4);
    mmsim_scenario_free(sc);
}

static void test_scenario_read_expect_takes_its_size_from_the_data(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P read 0x1000 expect \"hello\"\nP read 0x1000 5 expect \"hello\"\n"
                                                "P read 0x1000 2 pages\n");
    assert_int_equal(only(sc, 2)->len, 5);
    assert_true(only(sc, 2)->check_value);
    assert_int_equal(only(sc, 3)->len, 5);
    assert_int_equal(only(sc, 4)->len, 8192);
    assert_false(only(sc, 4)->check_value);
    mmsim_scenario_free(sc);
}

static void test_scenario_process_names_resolve_to_slots(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("process P\nP fork C\nC exit\nprocess C\nC mmap 0x1000 4K\n");
    assert_int_equal(only(sc, 0)->proc, 0);
    assert_int_equal(only(sc, 1)->kind, MMSIM_SC_FORK);
    assert_int_equal(only(sc, 1)->proc, 0);
    assert_int_equal(only(sc, 1)->proc2, 1);
    assert_int_equal(only(sc, 2)->proc, 1);
    assert_int_equal(only(sc, 3)->proc, 2); /* a new C: a new slot */
    assert_int_equal(only(sc, 4)->proc, 2);
    assert_string_equal(mmsim_scenario_proc_name(sc, 2), "C");
    mmsim_scenario_free(sc);
}

static void test_scenario_access_subjects_name_cpu_process_or_neither(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("set cpus 2\n" PROC_P "on cpu1 el1 read 0x1000 4\nP write 0x1000 \"x\"\n"
                                         "el0 exec 0x1000\non cpu1 run idle\non cpu1 pan on\n");
    const struct mmsim_scenario_stmt *a = only(sc, 2), *b = only(sc, 3), *c = only(sc, 4);
    assert_int_equal(a->kind, MMSIM_SC_ACCESS);
    assert_int_equal(a->cpu, 1);
    assert_int_equal(a->proc, -1);
    assert_int_equal(a->el, 1);
    assert_int_equal(b->cpu, -1);
    assert_int_equal(b->proc, 0);
    assert_int_equal(b->el, -1);
    assert_int_equal(c->cpu, -1);
    assert_int_equal(c->proc, -1);
    assert_int_equal(c->el, 0);
    assert_int_equal(only(sc, 5)->kind, MMSIM_SC_RUN);
    assert_int_equal(only(sc, 5)->proc, -1);
    assert_int_equal(only(sc, 6)->kind, MMSIM_SC_PAN);
    assert_int_equal(only(sc, 6)->value, 1);
    mmsim_scenario_free(sc);
}

static void test_scenario_status_expectation_marks_its_access(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P read 0x1000 1\nexpect no fault\nexpect segv or ok\n"
                                                "P read 0x2000 1\nexpect faults 1\n");
    assert_true(only(sc, 2)->status_expected);
    assert_false(only(sc, 5)->status_expected);
    const struct mmsim_scenario_expect *e = &only(sc, 4)->expect;
    assert_int_equal(e->kind, MMSIM_SC_EX_STATUS);
    assert_int_equal(e->status, (1 << MMSIM_ACCESS_SEGV) | (1 << MMSIM_ACCESS_OK));
    assert_int_equal(only(sc, 3)->expect.kind, MMSIM_SC_EX_FAULTS);
    assert_int_equal(only(sc, 3)->expect.count, 0);
    assert_int_equal(only(sc, 6)->expect.count, 1);
    mmsim_scenario_free(sc);
}

static void test_scenario_fault_expectation_keeps_every_field(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P write 0x1000 \"x\"\n"
                                                "expect second fault permission level 3 fsc 0xf esr 0x9200004f wnr 1 fixed\n"
                                                "expect fault\nexpect last fault access-flag unfixed\n");
    const struct mmsim_scenario_fault_match *f = &only(sc, 3)->expect.fault;
    assert_int_equal(only(sc, 3)->expect.kind, MMSIM_SC_EX_FAULT);
    assert_int_equal(f->index, 2);
    assert_int_equal(f->kind, MMSIM_FAULT_PERMISSION);
    assert_int_equal(f->level, 3);
    assert_int_equal(f->fsc, 0x0f);
    assert_int_equal(f->esr, 0x9200004f);
    assert_int_equal(f->wnr, 1);
    assert_int_equal(f->fixed, 1);
    f = &only(sc, 4)->expect.fault; /* "any fault" */
    assert_int_equal(f->index, 0);
    assert_int_equal(f->kind, -1);
    assert_int_equal(f->level, -2);
    assert_int_equal(f->esr, MMSIM_SC_ANY64);
    assert_int_equal(only(sc, 5)->expect.fault.kind, MMSIM_FAULT_ACCESS_FLAG);
    assert_int_equal(only(sc, 5)->expect.fault.fixed, 0);
    mmsim_scenario_free(sc);
}

static void test_scenario_state_expectations_parse(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("set cpus 2\n" PROC_P "P fork C\nexpect data-frames 3\n"
                                         "expect P table-pages 4\nexpect C vareas 2\nexpect P refs 0x1000 2\n"
                                         "expect P and C do not share 0x1000\nexpect C and P share 0x2000\n"
                                         "expect P unmapped 0x3000\nexpect P pte 0x1000 af no-dbm read-only clean\n"
                                         "expect cpu1 tlb-entries 0\nexpect zero-frames 1\n");
    const struct mmsim_scenario_expect *e = &only(sc, 3)->expect;
    assert_int_equal(e->kind, MMSIM_SC_EX_DATA_FRAMES);
    assert_int_equal(e->proc, -1);
    assert_int_equal(e->count, 3);
    e = &only(sc, 4)->expect;
    assert_int_equal(e->kind, MMSIM_SC_EX_TABLE_PAGES);
    assert_int_equal(e->proc, 0);
    assert_int_equal(only(sc, 5)->expect.kind, MMSIM_SC_EX_VAREAS);
    assert_int_equal(only(sc, 5)->expect.proc, 1);
    e = &only(sc, 6)->expect;
    assert_int_equal(e->kind, MMSIM_SC_EX_REFS);
    assert_int_equal(e->va, 0x1000);
    assert_int_equal(e->count, 2);
    e = &only(sc, 7)->expect;
    assert_int_equal(e->kind, MMSIM_SC_EX_SHARE);
    assert_true(e->negate);
    assert_int_equal(e->proc2, 1);
    assert_false(only(sc, 8)->expect.negate);
    assert_true(only(sc, 9)->expect.negate);
    const struct mmsim_scenario_pte_match *m = &only(sc, 10)->expect.pte;
    assert_int_equal(m->af, 1);
    assert_int_equal(m->dbm, 0);
    assert_int_equal(m->writable, 0);
    assert_int_equal(m->dirty, 0);
    assert_int_equal(only(sc, 11)->expect.kind, MMSIM_SC_EX_TLB_ENTRIES);
    assert_int_equal(only(sc, 11)->expect.cpu, 1);
    assert_int_equal(only(sc, 12)->expect.kind, MMSIM_SC_EX_ZERO_FRAMES);
    mmsim_scenario_free(sc);
}

static void test_scenario_put_and_get_are_kernel_copies(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("process P\nP put 0x1000 u32 7\nP get 0x1000 4 expect u32 7\n"
                                         "expect data u32 7\n");
    const struct mmsim_scenario_stmt *put = only(sc, 1), *get = only(sc, 2);
    assert_int_equal(put->kind, MMSIM_SC_ACCESS);
    assert_true(put->kcopy);
    assert_int_equal(put->op, MMSIM_SC_WRITE);
    assert_int_equal(put->width, 0); /* a copy, never a sized store */
    assert_int_equal(put->len, 4);
    assert_true(get->kcopy);
    assert_int_equal(get->op, MMSIM_SC_READ);
    assert_true(get->check_value);
    assert_int_equal(only(sc, 3)->expect.kind, MMSIM_SC_EX_DATA);
    mmsim_scenario_free(sc);
}

static void test_scenario_fail_arms_allocation_failures(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("fail pages 3\nfail heap 1 always\nfail pages 2 once\nfail off\n");
    assert_int_equal(only(sc, 0)->kind, MMSIM_SC_FAIL);
    assert_int_equal(only(sc, 0)->alloc_kind, MMSIM_ALLOC_PAGE);
    assert_int_equal(only(sc, 0)->value, 3);
    assert_false(only(sc, 0)->always);
    assert_int_equal(only(sc, 1)->alloc_kind, MMSIM_ALLOC_HEAP);
    assert_true(only(sc, 1)->always);
    assert_false(only(sc, 2)->always);
    assert_int_equal(only(sc, 3)->value, 0); /* off */
    mmsim_scenario_free(sc);
}

static void test_scenario_interleave_counts_its_statements(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok("set cpus 2\n" PROC_P "interleave seed 9\n  on cpu0 read 0x1000 1\n"
                                         "  expect segv\n  P munmap 0x1000 4K\nend\ncheck\n");
    const struct mmsim_scenario_stmt *b = only(sc, 2);
    assert_int_equal(b->kind, MMSIM_SC_INTERLEAVE);
    assert_int_equal(b->block_len, 3);
    assert_true(b->has_seed);
    assert_int_equal(b->value, 9);
    assert_int_equal(only(sc, 6)->kind, MMSIM_SC_CHECK);
    mmsim_scenario_free(sc);
}

static void test_scenario_other_statements_parse(void **state)
{
    (void)state;
    struct mmsim_scenario *sc = parse_ok(PROC_P "P protect 0x1000 ro\nP protect 0x1000 rw\nstats json\nstats\n"
                                                "dump sharing\ndump vareas P\ndump tables P\ndump P\nsay \"hi\"\n"
                                                "P inject write 0x1000 permission level 2\nexpect unfixed\n");
    assert_int_equal(only(sc, 2)->size, 1);
    assert_int_equal(only(sc, 3)->size, 0);
    assert_true(only(sc, 4)->json);
    assert_false(only(sc, 5)->json);
    assert_int_equal(only(sc, 6)->dump, 2);
    assert_int_equal(only(sc, 7)->dump, 0);
    assert_int_equal(only(sc, 8)->dump, 1);
    assert_int_equal(only(sc, 9)->dump, 3);
    assert_string_equal((const char *)only(sc, 10)->data, "hi");
    const struct mmsim_scenario_stmt *s = only(sc, 11);
    assert_int_equal(s->kind, MMSIM_SC_INJECT);
    assert_int_equal(s->inject_kind, MMSIM_FAULT_PERMISSION);
    assert_int_equal(s->inject_level, 2);
    assert_true(only(sc, 12)->expect.negate);
    mmsim_scenario_free(sc);
}

/* ---- errors ---- */

struct bad
{
    const char *text;
    int line, col;
    const char *msg;
};

static const struct bad bad_lines[] = {
    { "frobnicate\n", 1, 1, "expected a statement (set, process, on, expect, check, stats, dump, say, interleave, "
                            "end, fail, read, write, exec, inject) or the name of a live process, found 'frobnicate'" },
    { "fail disk 1\n", 1, 6, "expected heap, pages or off, found 'disk'" },
    { "fail pages 0\n", 1, 12, "expected which attempt from now fails (1 = the next), found '0'" },
    { "fail pages 1 sometimes\n", 1, 14, "expected end of line, found 'sometimes'" },
    { "process P\nset cpus 2\n", 2, 1, "expected 'set' lines only before the first statement that runs" },
    { "set cpus 2\nset cpus 3\n", 2, 5, "expected each setting once, 'cpus' was set on line 1" },
    { "set turbo on\n", 1, 5, "expected a setting: ram, ram-base, install, heap, debug-aids, quarantine, cpus, "
                              "tlb-entries, asid-bits, hw-af, hw-dirty, sw-af, walk-crosscheck, stale-check, "
                              "uaf-check, livelock or seed, found 'turbo'" },
    { "set tlb-entries 100\n", 1, 17, "expected a power of two from 16 to 65536 for tlb-entries, found '100'" },
    { "set asid-bits 12\n", 1, 15, "expected 8 or 16 for asid-bits, found '12'" },
    { "set cpus 9\n", 1, 10, "expected a number from 1 to 8 for cpus, found '9'" },
    { "set ram 3000\n", 1, 9, "expected a multiple of 4 KiB from 1M to 1024G for ram, found '3000'" },
    { "set hw-dirty on\n", 1, 1, "expected 'set hw-af on' before 'set hw-dirty on' (hardware dirty management "
                                 "needs hardware access flags)" },
    { "set hw-af on\nset sw-af on\n", 2, 1, "expected only one of 'hw-af on' and 'sw-af on' (the hardware and the "
                                            "software policy cannot both manage the access flag)" },
    { "set stale-check maybe\n", 1, 17, "expected 'on' or 'off', found 'maybe'" },
    { "process P\non cpu1 run P\n", 2, 4, "expected a CPU, cpu0 to cpu0 (set cpus N for more), found 'cpu1'" },
    { "process P\non cpu0 P read 0x1000 1\n", 2, 9, "expected run, pan or an access after 'on cpu0' (write 'P read "
                                                    "...' for the CPU that runs P)" },
    { "process P\nP write 0x1000 \"abc\n", 2, 20, "expected '\"' to close the string, found end of line" },
    { "process P\nP write 0x1000 \"a\\qb\"\n", 2, 18, "expected an escape (\\n \\t \\r \\0 \\\\ \\\" or \\xHH) after '\\'" },
    { "process P\nP mmap 0x1001 4K\n", 2, 8, "expected a 4 KiB-aligned virtual address, found '0x1001'" },
    { "process P\nP mmap 0x1000 0\n", 2, 15, "expected a size above 0 (4096, 0x1000, 4K, 2M or N pages), found '0'" },
    { "process P\nP munmap 0x1000 100\n", 2, 17, "expected a size in whole pages (a multiple of 4 KiB)" },
    { "process P\nexpect segv\n", 2, 1, "expected a read, write, exec or inject right before this expectation (it "
                                        "checks that access's result)" },
    { "process P\nP write 0x1000 \"x\"\nexpect data \"x\"\n", 3, 1,
      "expected a read or exec before 'expect data' (a write has no data to check)" },
    { "process P\nP read 0x1000 1\nexpect fixed\n", 3, 1, "expected an inject before 'expect fixed' or 'expect unfixed'" },
    { "process P\nP inject read 0x1000 translation\nexpect ok\n", 3, 1,
      "expected 'expect fixed' or 'expect unfixed' after an inject" },
    { "process P\nP read 0x1000 1\ncheck\nexpect ok\n", 4, 1, "expected a read, write, exec or inject right before "
                                                              "this expectation (it checks that access's result)" },
    { "process read\n", 1, 9, "expected a process name (letters, digits, '_' or '-', at most 15, not a keyword), "
                              "found 'read'" },
    { "process cpu1\n", 1, 9, "expected a process name (letters, digits, '_' or '-', at most 15, not a keyword), "
                              "found 'cpu1'" },
    { "process abcdefghijklmnop\n", 1, 9, "expected a process name (letters, digits, '_' or '-', at most 15, not "
                                          "a keyword), found 'abcdefghijklmnop'" },
    { "process P\nprocess P\n", 2, 9, "expected a new process name, found 'P', which is alive already" },
    { "process P\nP fork P\n", 2, 8, "expected a new process name, found 'P', which is alive already" },
    { "process P\nexpect Q vareas 1\n", 2, 8, "expected what to expect: data, ok, segv, livelock, use-after-free, "
                                              "stale-tlb, walk-mismatch, no fault, faults N, [first..eighth|last] "
                                              "fault, cause, fixed, unfixed, data-frames, zero-frames, table-pages, "
                                              "cpuN tlb-entries, or a process name, found 'Q'" },
    { "process P\nP exit now\n", 2, 8, "expected end of line, found 'now'" },
    { "process P\nP dance\n", 2, 3, "expected mmap, munmap, map-private, protect, fork, exit, put, get, read, "
                                    "write, exec, el0, el1 or inject, found 'dance'" },
    { "process P\nP put 0x1000 8\n", 2, 14, "expected data: a \"string\", hex DIGITS, fill BYTE SIZE, zeros SIZE or "
                                            "u8/u16/u32/u64 VALUE, found '8'" },
    { "process P\ninterleave\nread 0x1000 1\nend\n", 3, 1, "expected 'on cpuN' or a process name first: "
                                                           "statements in an interleave block say who runs them" },
    { "process P\ninterleave\ninterleave\n", 3, 1, "expected 'end' before another interleave (blocks do not nest)" },
    { "process P\ninterleave\ncheck\nend\n", 3, 1, "expected an access, 'on cpuN ...' or a process operation inside "
                                                   "an interleave block (or 'end')" },
    { "end\n", 1, 1, "expected 'interleave' before 'end'" },
    { "interleave\nend\n", 2, 1, "expected statements between 'interleave' and 'end'" },
    { "process P\n\ninterleave\nP exit\n", 3, 1, "expected 'end' to close this interleave block, found end of file" },
    { "process P\nP write 0x1000 hex abc\n", 2, 20, "expected an even number of hex digits (hex deadbeef), found 'abc'" },
    { "process P\nP write 0x1000 u8 300\n", 2, 19, "expected a value that fits in 1 byte, found '300'" },
    { "process P\nP write 0x1000 fill 256 4\n", 2, 21, "expected a byte value (0 to 255) or a non-empty \"string\" to "
                                                      "repeat, found '256'" },
    { "process P\nP write 0x1000\n", 2, 15, "expected data: a \"string\", hex DIGITS, fill BYTE SIZE, zeros SIZE or "
                                            "u8/u16/u32/u64 VALUE, found end of line" },
    { "process P\nP read 0x1000 4 expect \"abc\"\n", 2, 24, "expected 4 bytes of data (the read's size), found 3" },
    { "process P\nP read 0x1000\n", 2, 14, "expected a size above 0 (4096, 0x1000, 4K, 2M or N pages), found end of "
                                           "line" },
    { "process P\nP read 0x1_0000_0000_0000_0000 1\n", 2, 8, "expected a virtual address, found "
                                                              "'0x1_0000_0000_0000_0000'" },
    { "process P\nP inject read 0x1000 external-abort\n", 2, 22, "expected a fault to inject: translation, "
                                                                 "access-flag or permission, found 'external-abort'" },
    { "process P\nP read 0x1000 1\nexpect fault permission level 4\n", 3, 31, "expected a level from 0 to 3, found '4'" },
    { "process P\nP read 0x1000 1\nexpect segv or fine\n", 3, 16, "expected an access status: ok, segv, livelock, "
                                                                  "use-after-free, stale-tlb or walk-mismatch, found "
                                                                  "'fine'" },
    { "process P\nexpect P pte 0x1000 shiny\n", 2, 21, "expected af, no-af, dbm, no-dbm, writable, read-only, dirty or "
                                                       "clean, found 'shiny'" },
    { "process P\nsay hello\n", 2, 5, "expected a \"string\" to print, found 'hello'" },
};

static void test_scenario_malformed_lines_name_line_column_and_expectation(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof bad_lines / sizeof *bad_lines; k++) {
        print_message("case %zu: %s", k, bad_lines[k].text);
        expect_error(bad_lines[k].text, bad_lines[k].line, bad_lines[k].col, bad_lines[k].msg);
    }
}

static void test_scenario_too_many_words_on_a_line_is_an_error(void **state)
{
    (void)state;
    char text[512] = "process P\nP write 0x1000";
    for (int k = 0; k < 63; k++)
        strcat(text, " \"x\"");
    expect_error(text, 2, 14 + 61 * 4 + 2, "expected at most 64 words on a line"); /* the 65th word */
}

static void test_scenario_unreadable_file_is_an_error_at_line_0(void **state)
{
    (void)state;
    struct mmsim_scenario_error err;
    assert_null(mmsim_scenario_parse_file("/nonexistent/x.scn", &err));
    assert_int_equal(err.line, 0);
    assert_string_equal(err.msg, "cannot read the file: No such file or directory");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mmsim_scenario_error_print("x.scn", &err, f);
    err.line = 3;
    err.col = 7;
    mmsim_scenario_error_print("x.scn", &err, f);
    fclose(f);
    assert_string_equal(buf, "x.scn: cannot read the file: No such file or directory\n"
                             "x.scn:3:7: cannot read the file: No such file or directory\n");
    free(buf);
}

/* ---- running ---- */

struct captured
{
    char *out, *err;
    size_t out_len, err_len;
    struct mmsim_scenario_outcome o;
    int rc;
};

static void run_text(const char *text, bool verbose, uint64_t seed, struct captured *c)
{
    struct mmsim_scenario *sc = parse_ok(text);
    memset(c, 0, sizeof *c);
    struct mmsim_scenario_options opt = { .verbose = verbose, .has_seed = seed != 0, .seed = seed };
    opt.out = open_memstream(&c->out, &c->out_len);
    opt.err = open_memstream(&c->err, &c->err_len);
    c->rc = mmsim_scenario_run(sc, &opt, &c->o);
    fclose(opt.out);
    fclose(opt.err);
    mmsim_scenario_free(sc);
    assert_false(mmsim_machine_booted()); /* every run tears its machine down */
}

static void release(struct captured *c)
{
    free(c->out);
    free(c->err);
}

static void test_scenario_run_passing_text_returns_pass(void **state)
{
    (void)state;
    struct captured c;
    run_text(PROC_P "P mmap 0x10000000 1 page\nP write 0x10000000 \"hi\"\nexpect fault translation level 0 fixed\n"
                    "P read 0x10000000 expect \"hi\"\nexpect no fault\nexpect data-frames 1\ncheck\n",
             false, 0, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_PASS);
    assert_int_equal(c.o.result, MMSIM_SCENARIO_PASS);
    assert_int_equal(c.o.ran, 9);
    assert_int_equal(c.o.total, 9);
    assert_int_equal(c.o.failed_line, 0);
    assert_string_equal(c.err, "");
    assert_string_equal(c.out, ""); /* quiet unless asked */
    release(&c);
}

static void test_scenario_run_failure_stops_and_says_what_ran(void **state)
{
    (void)state;
    struct captured c;
    run_text(PROC_P "P mmap 0x10000000 1 page\nP write 0x10000000 \"hi\"\nexpect data-frames 2\ncheck\ncheck\n",
             false, 0, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_FAIL);
    assert_int_equal(c.o.failed_line, 5);
    assert_int_equal(c.o.ran, 5);
    assert_string_equal(c.err, "t.scn:5: expectation failed: expect data-frames 2\n"
                               "  expected: 2 data frames\n"
                               "  actual:   1 data frames\n"
                               "t.scn: stopped at line 5: 4 statements passed, that one failed, 2 did not run\n");
    release(&c);
}

static void test_scenario_unexpected_segv_fails_at_the_access(void **state)
{
    (void)state;
    struct captured c;
    run_text(PROC_P "P read 0x10000000 4\nexpect faults 1\n", false, 0, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_FAIL);
    assert_int_equal(c.o.failed_line, 3);
    assert_non_null(strstr(c.err, "t.scn:3: failed: P read 0x10000000 4\n  the access ended with segv"));
    release(&c);
    run_text(PROC_P "P read 0x10000000 4\nexpect faults 1\nexpect segv\nexpect fault translation level 0 unfixed\n"
                    "expect cause \"no varea\"\n", false, 0, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_PASS);
    release(&c);
}

static void test_scenario_verbose_run_narrates_faults_and_says(void **state)
{
    (void)state;
    struct captured c;
    run_text(PROC_P "say \"hello reader\"\nP mmap 0x10000000 1 page\nP write 0x10000000 \"x\"\n", true, 0, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_PASS);
    assert_non_null(strstr(c.out, "hello reader\n"));
    assert_non_null(strstr(c.out, "> P write 0x10000000 \"x\"\n"));
    assert_non_null(strstr(c.out, "translation fault at level 0"));
    assert_non_null(strstr(c.out, "ESR_EL1 0x92000044 (data abort from EL0, a write, FSC 0x04)"));
    assert_non_null(strstr(c.out, "memory now: 1 data frame (+1)"));
    release(&c);
}

/* The order an interleave block ran in, from the narration. */
static void block_order(uint64_t seed, char *order, size_t n)
{
    struct captured c;
    run_text("set cpus 3\nprocess A\nprocess B\nprocess C\non cpu0 run A\non cpu1 run B\non cpu2 run C\n"
             "interleave\n  A mmap 0x10000000 1 page\n  B mmap 0x10000000 1 page\n  C mmap 0x10000000 1 page\n"
             "  A munmap 0x10000000 1 page\n  B munmap 0x10000000 1 page\nend\n",
             true, seed, &c);
    assert_int_equal(c.rc, MMSIM_SCENARIO_PASS);
    size_t k = 0; /* "A mmap" -> 'A', "A munmap" -> 'a' */
    for (const char *p = c.out; (p = strstr(p, "\n> ")) && k + 1 < n; p++)
        if (p[3] >= 'A' && p[3] <= 'C' && p[4] == ' ')
            order[k++] = (char)(strncmp(p + 5, "munmap", 6) == 0 ? p[3] - 'A' + 'a' : p[3]);
    order[k] = 0;
    release(&c);
}

static void test_scenario_interleave_is_deterministic_per_seed(void **state)
{
    (void)state;
    char a[16], b[16], other[16];
    block_order(7, a, sizeof a);
    block_order(7, b, sizeof b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 5);
    bool differs = false;
    for (uint64_t seed = 1; seed < 30 && !differs; seed++) {
        block_order(seed, other, sizeof other);
        differs = strcmp(other, a) != 0;
        /* each process keeps its own order: its mmap before its munmap */
        assert_true(strchr(other, 'A') < strchr(other, 'a'));
        assert_true(strchr(other, 'B') < strchr(other, 'b'));
    }
    assert_true(differs);
}

static void test_scenario_walkthrough_passes_within_a_second(void **state)
{
    (void)state;
    struct captured c;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_text(mmsim_scenario_walkthrough, true, 0, &c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(c.rc, MMSIM_SCENARIO_PASS);
    assert_non_null(strstr(c.out, "permission fault at level 3"));
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(s < 1.0);
    release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_empty_text_parses_to_nothing),
        cmocka_unit_test(test_scenario_comments_and_blank_lines_are_ignored),
        cmocka_unit_test(test_scenario_set_lines_fill_the_configuration),
        cmocka_unit_test(test_scenario_sizes_accept_suffixes_and_pages),
        cmocka_unit_test(test_scenario_string_escapes_decode),
        cmocka_unit_test(test_scenario_data_items_concatenate),
        cmocka_unit_test(test_scenario_single_typed_item_is_a_sized_access),
        cmocka_unit_test(test_scenario_read_expect_takes_its_size_from_the_data),
        cmocka_unit_test(test_scenario_process_names_resolve_to_slots),
        cmocka_unit_test(test_scenario_access_subjects_name_cpu_process_or_neither),
        cmocka_unit_test(test_scenario_status_expectation_marks_its_access),
        cmocka_unit_test(test_scenario_fault_expectation_keeps_every_field),
        cmocka_unit_test(test_scenario_state_expectations_parse),
        cmocka_unit_test(test_scenario_put_and_get_are_kernel_copies),
        cmocka_unit_test(test_scenario_fail_arms_allocation_failures),
        cmocka_unit_test(test_scenario_interleave_counts_its_statements),
        cmocka_unit_test(test_scenario_other_statements_parse),
        cmocka_unit_test(test_scenario_malformed_lines_name_line_column_and_expectation),
        cmocka_unit_test(test_scenario_too_many_words_on_a_line_is_an_error),
        cmocka_unit_test(test_scenario_unreadable_file_is_an_error_at_line_0),
        cmocka_unit_test(test_scenario_run_passing_text_returns_pass),
        cmocka_unit_test(test_scenario_run_failure_stops_and_says_what_ran),
        cmocka_unit_test(test_scenario_unexpected_segv_fails_at_the_access),
        cmocka_unit_test(test_scenario_verbose_run_narrates_faults_and_says),
        cmocka_unit_test(test_scenario_interleave_is_deterministic_per_seed),
        cmocka_unit_test(test_scenario_walkthrough_passes_within_a_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
