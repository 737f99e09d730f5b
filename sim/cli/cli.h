/* The mmsim program's subcommands and the mapping-file language they share. */
#ifndef MMSIM_CLI_H
#define MMSIM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <mm_aspace.h>
#include <mmsim/export.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Each takes its own name as argv[0] and returns the exit status. */
int cli_demo(int argc, char **argv);        /* mmsim pgtable-demo */
int cli_export(int argc, char **argv);      /* mmsim export */
int cli_run(int argc, char **argv);         /* mmsim run (run_cmd.c) */
int cli_walkthrough(int argc, char **argv); /* mmsim [walkthrough] (run_cmd.c) */
int cli_drive(int argc, char **argv);       /* mmsim drive | replay (drive_cmd.c) */

/* One "map" line: PA_ALLOC means "allocate frames for it". */
#define CLI_PA_ALLOC UINT64_MAX
struct cli_map
{
    bool kernel;     /* into rt_kernel_space instead of the user aspace */
    uint64_t va;
    uint64_t pa;
    uint64_t size;
    uint64_t attr;
};

struct cli_mapfile
{
    struct cli_map maps[256];
    size_t nmaps;
    struct mmsim_export_vector vectors[1024];
    size_t nvectors;
};

/* Parse `path`. On a syntax error print "path:line:col: expected ..." to
 * stderr and return false. */
bool cli_mapfile_parse(const char *path, struct cli_mapfile *out);
/* Parse from text (for the built-in default); `name` labels errors. */
bool cli_mapfile_parse_text(const char *name, const char *text, struct cli_mapfile *out);

/* The built-in mapping set both `demo` and `export` use by default. */
extern const char cli_default_mapfile[];

/* A user aspace with its own root table, plus rt_kernel_space, populated from
 * `mf`. Frames for "alloc" mappings are allocated and remembered for release. */
struct cli_world
{
    struct rt_aspace user;
    void *frames[256];
    unsigned frame_orders[256];
    size_t nframes;
};
bool cli_world_build(struct cli_world *w, const struct cli_mapfile *mf, FILE *log);
void cli_world_destroy(struct cli_world *w, const struct cli_mapfile *mf);

#endif
