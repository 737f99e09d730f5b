/* RT_ASSERT and mmsim precondition reports go through one replaceable hook,
 * so tests and fuzzers can observe a caller error instead of dying. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rtthread.h>
#include "base/base.h"

static pthread_mutex_t g_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static mmsim_assert_hook_t g_hook;
static void *g_hook_ctx;
static void (*g_rt_hook)(const char *ex, const char *func, rt_size_t line);

static void default_hook(void *ctx, const char *expr, const char *func, const char *file,
                         int line, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "mmsim: assertion failed: %s%s%s\n  in %s at %s:%d\n", expr,
            msg ? ": " : "", msg ? msg : "", func, file, line);
    fflush(stderr);
    abort();
}

mmsim_assert_hook_t mmsim_assert_hook_set(mmsim_assert_hook_t hook, void *ctx)
{
    pthread_mutex_lock(&g_hook_lock);
    mmsim_assert_hook_t old = g_hook;
    g_hook = hook;
    g_hook_ctx = ctx;
    pthread_mutex_unlock(&g_hook_lock);
    return old;
}

void rt_assert_set_hook(void (*hook)(const char *ex, const char *func, rt_size_t line))
{
    pthread_mutex_lock(&g_hook_lock);
    g_rt_hook = hook;
    pthread_mutex_unlock(&g_hook_lock);
}

void mmsim_assert_fail(const char *expr, const char *func, const char *file, int line,
                       const char *msg)
{
    pthread_mutex_lock(&g_hook_lock);
    mmsim_assert_hook_t hook = g_hook ? g_hook : default_hook;
    void *ctx = g_hook_ctx;
    void (*rt_hook)(const char *, const char *, rt_size_t) = g_rt_hook;
    pthread_mutex_unlock(&g_hook_lock);

    /* RT-Thread's hook only observes; ours decides whether execution goes on. */
    if (rt_hook)
        rt_hook(expr, func, (rt_size_t)line);
    hook(ctx, expr, func, file, line, msg);
}

void rt_assert_handler(const char *ex, const char *func, rt_size_t line)
{
    mmsim_assert_fail(ex, func, "?", (int)line, NULL);
}

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void mmsim_assert_record(void *ctx, const char *expr, const char *func, const char *file,
                         int line, const char *msg)
{
    struct mmsim_assert_record *rec = ctx;
    (void)file;
    rec->count++;
    copy_trunc(rec->expr, sizeof rec->expr, expr);
    copy_trunc(rec->msg, sizeof rec->msg, msg);
    copy_trunc(rec->func, sizeof rec->func, func);
    rec->line = line;
}
