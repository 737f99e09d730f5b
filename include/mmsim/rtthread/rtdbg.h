/*
 * rtdbg.h — RT-Thread's LOG_D/I/W/E. Define DBG_TAG (and optionally DBG_LVL)
 * before including, as RT-Thread code does. Lines go to mmsim's log sink,
 * which applies the run-time level set with mmsim_log_set_level.
 */
#ifndef MMSIM_RTDBG_H
#define MMSIM_RTDBG_H

#include <mmsim/diag.h>

#define DBG_ERROR 0
#define DBG_WARNING 1
#define DBG_INFO 2
#define DBG_LOG 3

#ifndef DBG_TAG
#define DBG_TAG "rt"
#endif
#ifndef DBG_LVL
#define DBG_LVL DBG_LOG
#endif

#define LOG_E(...) do { if (DBG_LVL >= DBG_ERROR) mmsim_log(MMSIM_LOG_ERROR, DBG_TAG, __VA_ARGS__); } while (0)
#define LOG_W(...) do { if (DBG_LVL >= DBG_WARNING) mmsim_log(MMSIM_LOG_WARN, DBG_TAG, __VA_ARGS__); } while (0)
#define LOG_I(...) do { if (DBG_LVL >= DBG_INFO) mmsim_log(MMSIM_LOG_INFO, DBG_TAG, __VA_ARGS__); } while (0)
#define LOG_D(...) do { if (DBG_LVL >= DBG_LOG) mmsim_log(MMSIM_LOG_DEBUG, DBG_TAG, __VA_ARGS__); } while (0)
#define LOG_RAW(...) rt_kprintf(__VA_ARGS__)

#endif /* MMSIM_RTDBG_H */
