/* Log lines and the rt_kprintf console, with a caller-chosen level and
 * destination. Formatting happens before the lock so sinks see whole lines. */
#include <stdarg.h>
#include <stdio.h>
#include "base/base.h"

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_level = MMSIM_LOG_WARN;
static mmsim_log_sink_t g_sink;
static void *g_sink_ctx;
static FILE *g_console;
static int g_console_set;

static const char *const level_names[] = { "E", "W", "I", "D" };

void mmsim_log_set_level(enum mmsim_log_level level)
{
    __atomic_store_n(&g_level, (int)level, __ATOMIC_RELAXED);
}

enum mmsim_log_level mmsim_log_get_level(void)
{
    return (enum mmsim_log_level)__atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

void mmsim_log_set_sink(mmsim_log_sink_t sink, void *ctx)
{
    pthread_mutex_lock(&g_log_lock);
    g_sink = sink;
    g_sink_ctx = ctx;
    pthread_mutex_unlock(&g_log_lock);
}

void mmsim_log(enum mmsim_log_level level, const char *tag, const char *fmt, ...)
{
    if ((int)level > __atomic_load_n(&g_level, __ATOMIC_RELAXED))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&g_log_lock);
    if (g_sink)
        g_sink(g_sink_ctx, level, tag ? tag : "", line);
    else
        fprintf(stderr, "[%s/%s] %s\n", level_names[level & 3], tag ? tag : "", line);
    pthread_mutex_unlock(&g_log_lock);
}

void mmsim_console_set(FILE *out)
{
    pthread_mutex_lock(&g_log_lock);
    g_console = out;
    g_console_set = 1;
    pthread_mutex_unlock(&g_log_lock);
}

int rt_kprintf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&g_log_lock);
    FILE *out = g_console_set ? g_console : stdout;
    if (out)
        fputs(buf, out);
    pthread_mutex_unlock(&g_log_lock);
    return n;
}

void mmsim_problem(FILE *out, int *problems, const char *who, const char *fmt, ...)
{
    (*problems)++;
    if (!out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(out, "%s: ", who);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
}
