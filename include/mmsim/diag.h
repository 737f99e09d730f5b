/*
 * mmsim diagnostics: the assertion hook behind RT_ASSERT and the log sink
 * behind LOG_D/I/W/E and rt_kprintf. Both are process-wide and thread-safe.
 */
#ifndef MMSIM_DIAG_H
#define MMSIM_DIAG_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called for every failed RT_ASSERT or violated mmsim precondition. `msg`
 * names the broken precondition (NULL for a bare RT_ASSERT). The default hook
 * prints and aborts; a hook that returns lets the caller continue, and mmsim's
 * own functions then return without changing anything. */
typedef void (*mmsim_assert_hook_t)(void *ctx, const char *expr, const char *func,
                                    const char *file, int line, const char *msg);

/* Install `hook` (NULL restores the aborting default); returns the previous one. */
mmsim_assert_hook_t mmsim_assert_hook_set(mmsim_assert_hook_t hook, void *ctx);

/* Report a failed assertion through the current hook. Returns only if the hook does. */
void mmsim_assert_fail(const char *expr, const char *func, const char *file, int line,
                       const char *msg);

/* A caller broke a documented precondition: report it through the assert
 * hook naming the precondition, and if the hook returns, leave the function
 * with `ret` before anything has been changed. mmsim's own layers and
 * user-written objects alike use it. */
#define MMSIM_PRECOND(cond, ret, msg)                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            mmsim_assert_fail(#cond, __func__, __FILE__, __LINE__, (msg));    \
            return ret;                                                       \
        }                                                                     \
    } while (0)

/* As MMSIM_PRECOND, for functions returning void. */
#define MMSIM_PRECOND_VOID(cond, msg) MMSIM_PRECOND(cond, , msg)

/* A ready-made recording hook for tests and fuzzers: counts failures and keeps
 * the last one. Install with mmsim_assert_hook_set(mmsim_assert_record, &rec). */
struct mmsim_assert_record
{
    unsigned count;
    char expr[160];
    char msg[160];
    char func[64];
    int line;
};
void mmsim_assert_record(void *ctx, const char *expr, const char *func, const char *file,
                         int line, const char *msg);

enum mmsim_log_level
{
    MMSIM_LOG_ERROR = 0,
    MMSIM_LOG_WARN = 1,
    MMSIM_LOG_INFO = 2,
    MMSIM_LOG_DEBUG = 3,
};

/* Receives each log line that passes the level filter (no trailing newline). */
typedef void (*mmsim_log_sink_t)(void *ctx, enum mmsim_log_level level, const char *tag,
                                 const char *line);

/* Messages above `level` are dropped. Default: MMSIM_LOG_WARN. */
void mmsim_log_set_level(enum mmsim_log_level level);
enum mmsim_log_level mmsim_log_get_level(void);
/* NULL sink restores the default (stderr). */
void mmsim_log_set_sink(mmsim_log_sink_t sink, void *ctx);
void mmsim_log(enum mmsim_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where rt_kprintf writes (default stdout); NULL silences it. */
void mmsim_console_set(FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_DIAG_H */
