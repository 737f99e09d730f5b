/* mmsim — the simulator's command line. With no arguments it runs the
 * built-in fork/copy-on-write walkthrough. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *out)
{
    fputs("usage: mmsim                         the built-in walkthrough: fork and copy-on-write, step by step\n"
          "       mmsim walkthrough [--print] [--stats]\n"
          "                                     the same; --print shows its scenario script\n"
          "       mmsim run [-v] [--stats] [--json] [--seed N] [--repeat N] FILE...\n"
          "                                     run scenario files (docs/scenarios.md), each on a fresh machine\n"
          "       mmsim drive [--seed N] [--steps N] [--cpus N] [--threads] [--record FILE] ...\n"
          "                                     the seeded fault-injection driver (docs/driver.md)\n"
          "       mmsim replay FILE             replay a driver record exactly\n"
          "       mmsim pgtable-demo            boot a machine, map, translate, print the page tables\n"
          "       mmsim export [-m MAPFILE] [-n N] [-s SEED] [-b RAM_BASE] OUTDIR\n"
          "                                     write tables, registers and translation vectors\n"
          "       mmsim help | --version\n", out);
}

static int walkthrough(int argc, char **argv) { return cli_walkthrough(argc, argv); }

int main(int argc, char **argv)
{
    static char *none[] = { "walkthrough", NULL };
    if (argc < 2)
        return walkthrough(1, none);
    const char *cmd = argv[1];
    if (strcmp(cmd, "walkthrough") == 0)
        return walkthrough(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "pgtable-demo") == 0)
        return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cli_export(argc - 1, argv + 1);
    if (strcmp(cmd, "drive") == 0 || strcmp(cmd, "replay") == 0)
        return cli_drive(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        puts("mmsim 0.1.0");
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "mmsim: unknown command '%s'\n", cmd);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
