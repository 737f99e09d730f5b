/* Base layer: heap shim accounting, failure injection, the assert hook,
 * logging, recursive mutexes and atomics. No machine needed. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <rtthread.h>
#define DBG_TAG "test"
#include <rtdbg.h>
#include <mmsim/thread.h>
#include "fixture.h"

static int base_setup(void **state) { return fx_setup_bare(state); }
static int base_teardown(void **state)
{
    (void)state;
    mmsim_inject_disarm_all();
    mmsim_assert_hook_set(NULL, NULL);
    return 0;
}

static void test_base_malloc_free_accounts_exact_bytes(void **state)
{
    (void)state;
    rt_size_t total, used0, max0, used1, used2;
    rt_memory_info(&total, &used0, &max0);
    void *a = rt_malloc(100);
    void *b = rt_calloc(3, 7);
    assert_non_null(a);
    assert_non_null(b);
    rt_memory_info(NULL, &used1, NULL);
    assert_int_equal(used1 - used0, 121);
    for (int i = 0; i < 21; i++)
        assert_int_equal(((unsigned char *)b)[i], 0);
    rt_free(a);
    rt_free(b);
    rt_memory_info(NULL, &used2, NULL);
    assert_int_equal(used2, used0);
    assert_int_equal(total, 64u << 20);
}

static void test_base_malloc_zero_and_overflow_return_null(void **state)
{
    (void)state;
    assert_null(rt_malloc(0));
    assert_null(rt_calloc((rt_size_t)-1 / 2, 4));
    rt_free(NULL); /* ignored, as RT-Thread does */
}

static void test_base_realloc_keeps_contents_and_balance(void **state)
{
    (void)state;
    size_t before = mmsim_heap_used();
    char *p = rt_malloc(8);
    memcpy(p, "mmsim!!", 8);
    p = rt_realloc(p, 64);
    assert_non_null(p);
    assert_string_equal(p, "mmsim!!");
    assert_int_equal(mmsim_heap_used() - before, 64);
    assert_null(rt_realloc(p, 0)); /* frees */
    assert_int_equal(mmsim_heap_used(), before);
}

static void test_base_heap_total_caps_allocations(void **state)
{
    (void)state;
    struct mmsim_alloc_counters c0, c1;
    mmsim_alloc_counters_get(MMSIM_ALLOC_HEAP, &c0);
    mmsim_heap_set_total(mmsim_heap_used() + 1000);
    void *fits = rt_malloc(1000);
    assert_non_null(fits);
    assert_null(rt_malloc(1));
    mmsim_heap_set_total(0);
    rt_free(fits);
    mmsim_alloc_counters_get(MMSIM_ALLOC_HEAP, &c1);
    assert_int_equal(c1.exhausted - c0.exhausted, 1);
    assert_int_equal(c1.successes - c0.successes, 1);
}

static void test_base_free_of_foreign_pointer_asserts_and_changes_nothing(void **state)
{
    (void)state;
    uint64_t fake[4] = { 0x1234, 0x10, 0, 0 };
    size_t before = mmsim_heap_used();
    FX_EXPECT_ASSERTS(1, rt_free(&fake[2]));
    assert_non_null(strstr(fx_asserts.msg, "not returned by rt_malloc"));
    assert_int_equal(mmsim_heap_used(), before);
}

static void test_base_inject_once_fails_only_the_nth(void **state)
{
    (void)state;
    mmsim_inject_arm(MMSIM_ALLOC_HEAP, 3, MMSIM_INJECT_ONCE);
    void *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = rt_malloc(16);
    assert_non_null(p[0]);
    assert_non_null(p[1]);
    assert_null(p[2]);
    assert_non_null(p[3]);
    assert_non_null(p[4]);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_HEAP), 1);
    for (int i = 0; i < 5; i++)
        rt_free(p[i]);
}

static void test_base_inject_persistent_fails_from_nth_on(void **state)
{
    (void)state;
    mmsim_inject_arm(MMSIM_ALLOC_HEAP, 2, MMSIM_INJECT_PERSISTENT);
    void *a = rt_malloc(8);
    assert_non_null(a);
    for (int i = 0; i < 4; i++)
        assert_null(rt_malloc(8));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_HEAP), 4);
    void *b = rt_malloc(8);
    assert_non_null(b);
    rt_free(a);
    rt_free(b);
}

static unsigned g_rt_hook_calls;
static void rt_style_hook(const char *ex, const char *func, rt_size_t line)
{
    (void)ex;
    (void)func;
    (void)line;
    g_rt_hook_calls++;
}

static void test_base_rt_assert_reaches_both_hooks(void **state)
{
    (void)state;
    g_rt_hook_calls = 0;
    rt_assert_set_hook(rt_style_hook);
    int broken = 0;
    FX_EXPECT_ASSERTS(1, RT_ASSERT(broken == 1));
    rt_assert_set_hook(NULL);
    assert_int_equal(g_rt_hook_calls, 1);
    assert_string_equal(fx_asserts.expr, "broken == 1");
    assert_string_equal(fx_asserts.func, "test_base_rt_assert_reaches_both_hooks");
}

struct captured
{
    int lines;
    enum mmsim_log_level level;
    char tag[16];
    char text[128];
};

static void capture_sink(void *ctx, enum mmsim_log_level level, const char *tag, const char *line)
{
    struct captured *c = ctx;
    c->lines++;
    c->level = level;
    snprintf(c->tag, sizeof c->tag, "%s", tag);
    snprintf(c->text, sizeof c->text, "%s", line);
}

static void test_base_log_filters_by_level_and_reaches_sink(void **state)
{
    (void)state;
    struct captured cap = { 0 };
    mmsim_log_set_sink(capture_sink, &cap);
    mmsim_log_set_level(MMSIM_LOG_WARN);
    LOG_D("dropped %d", 1);
    LOG_I("dropped too");
    LOG_E("kept %d", 42);
    assert_int_equal(cap.lines, 1);
    assert_int_equal(cap.level, MMSIM_LOG_ERROR);
    assert_string_equal(cap.tag, "test");
    assert_string_equal(cap.text, "kept 42");
    mmsim_log_set_level(MMSIM_LOG_DEBUG);
    LOG_D("now %s", "kept");
    assert_int_equal(cap.lines, 2);
    mmsim_log_set_level(MMSIM_LOG_WARN);
    mmsim_log_set_sink(NULL, NULL);
}

static void test_base_kprintf_goes_to_console(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mmsim_console_set(f);
    assert_int_equal(rt_kprintf("page %d\n", 7), 7);
    mmsim_console_set(stdout);
    rewind(f);
    char buf[32] = { 0 };
    assert_non_null(fgets(buf, sizeof buf, f));
    assert_string_equal(buf, "page 7\n");
    fclose(f);
}

static void *try_take(void *arg)
{
    return (void *)(intptr_t)rt_mutex_take(arg, RT_WAITING_NO);
}

static void test_base_mutex_is_recursive_and_excludes_others(void **state)
{
    (void)state;
    struct rt_mutex m;
    assert_int_equal(rt_mutex_init(&m, "t", RT_IPC_FLAG_FIFO), RT_EOK);
    assert_int_equal(rt_mutex_take(&m, RT_WAITING_FOREVER), RT_EOK);
    assert_int_equal(rt_mutex_take(&m, RT_WAITING_FOREVER), RT_EOK);
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, try_take, &m);
    pthread_join(t, &ret);
    assert_int_equal((intptr_t)ret, -RT_ETIMEOUT);
    assert_int_equal(rt_mutex_release(&m), RT_EOK);
    assert_int_equal(rt_mutex_release(&m), RT_EOK);
    assert_int_equal(rt_mutex_detach(&m), RT_EOK);
}

static void test_base_atomic_add_returns_previous(void **state)
{
    (void)state;
    rt_atomic_t v = 5;
    assert_int_equal(rt_atomic_add(&v, 3), 5);
    assert_int_equal(rt_atomic_load(&v), 8);
    assert_int_equal(rt_atomic_sub(&v, 8), 8);
    rt_atomic_t expect = 0;
    assert_true(rt_atomic_compare_exchange_strong(&v, &expect, 9));
    assert_int_equal(v, 9);
    assert_non_null(rt_thread_self());
}

static void *other_thread_self(void *arg)
{
    (void)arg;
    return rt_thread_self();
}

/* Each host thread is its own simulated thread on CPU 0 until told otherwise. */
static void test_base_thread_self_is_per_host_thread_and_settable(void **state)
{
    (void)state;
    rt_thread_t mine = rt_thread_self();
    assert_non_null(mine);
    assert_null(mine->lwp);
    pthread_t th;
    void *theirs = NULL;
    assert_int_equal(pthread_create(&th, NULL, other_thread_self, NULL), 0);
    assert_int_equal(pthread_join(th, &theirs), 0);
    assert_ptr_not_equal(theirs, mine);

    struct rt_thread sim = { .name = "sim" };
    assert_null(mmsim_thread_set_current(&sim));
    assert_ptr_equal(rt_thread_self(), &sim);
    assert_ptr_equal(mmsim_thread_set_current(NULL), &sim);
    assert_ptr_equal(rt_thread_self(), mine);

    assert_int_equal(rt_hw_cpu_id(), 0);
    assert_int_equal(mmsim_cpu_set_current_id(3), 0);
    assert_int_equal(rt_hw_cpu_id(), 3);
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_cpu_set_current_id(RT_CPUS_NR), 3));
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_cpu_set_current_id(-1), 3));
    assert_int_equal(rt_hw_cpu_id(), 3);
    assert_int_equal(mmsim_cpu_set_current_id(0), 3);
}

static void test_base_badinput_realloc_and_mutex(void **state)
{
    (void)state;
    uint64_t fake[4] = { 0, 0, 0, 0 };
    void *r = (void *)1;
    FX_EXPECT_ASSERTS(1, r = rt_realloc(&fake[2], 64));
    assert_null(r);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_mutex_init(NULL, "x", 0), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_mutex_take(NULL, RT_WAITING_FOREVER), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_mutex_release(NULL), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_mutex_detach(NULL), -RT_EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, base_setup, base_teardown)
        T(test_base_thread_self_is_per_host_thread_and_settable),
        T(test_base_malloc_free_accounts_exact_bytes),
        T(test_base_malloc_zero_and_overflow_return_null),
        T(test_base_realloc_keeps_contents_and_balance),
        T(test_base_heap_total_caps_allocations),
        T(test_base_free_of_foreign_pointer_asserts_and_changes_nothing),
        T(test_base_inject_once_fails_only_the_nth),
        T(test_base_inject_persistent_fails_from_nth_on),
        T(test_base_rt_assert_reaches_both_hooks),
        T(test_base_log_filters_by_level_and_reaches_sink),
        T(test_base_kprintf_goes_to_console),
        T(test_base_mutex_is_recursive_and_excludes_others),
        T(test_base_atomic_add_returns_previous),
        T(test_base_badinput_realloc_and_mutex),
#undef T
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
