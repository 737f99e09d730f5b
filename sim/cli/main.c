/* mmsim — the simulator's command line. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *out)
{
    fputs("usage: mmsim [demo]                  boot a machine, map, translate, print the tables\n"
          "       mmsim export [-m MAPFILE] [-n N] [-s SEED] [-b RAM_BASE] OUTDIR\n"
          "                                     write tables, registers and translation vectors\n"
          "       mmsim help | --version\n", out);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "demo") == 0)
        return cli_demo(argc > 1 ? argc - 1 : 0, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return cli_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("mmsim 0.1.0");
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "mmsim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
