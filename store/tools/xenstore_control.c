/* xenstore-control: sends one XS_CONTROL command (its arguments NUL-separated) to xenstored and
 * prints the answer. Exit codes and streams as Xen's: 0 done (answer on stdout), 1 no daemon,
 * 2 usage, 3 the daemon refused (usage and errors on stderr). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "Usage:\n%s <command> [<arg>...]\n", argv[0]);
        return 2;
    }
    /* The arguments after the command travel as consecutive NUL-terminated strings. */
    size_t len = 0;
    for (int i = 2; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *data = malloc(len ? len : 1), *p = data;
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (int i = 2; i < argc; i++)
        p = stpcpy(p, argv[i]) + 1;

    struct xs_handle *h = xs_open(0);
    if (!h) {
        /* Xen's wording, on stderr: scripts match it. */
        fprintf(stderr, "Failed to contact Xenstored.\n");
        free(data);
        return 1;
    }
    int rc = 0;
    char *answer = xs_control_command(h, argv[1], data, (unsigned int)len);
    if (answer) {
        printf("%s\n", answer);
    } else {
        int e = errno;
        /* Like Xen's tool: show what the daemon does support. */
        char *help = xs_control_command(h, "help", NULL, 0);
        if (help)
            fprintf(stderr, "Command not supported. Valid commands are:\n%s\n", help);
        else
            fprintf(stderr, "Control command %s failed: %s\n", argv[1], strerror(e));
        free(help);
        rc = 3;
    }
    free(answer);
    free(data);
    xs_close(h);
    return rc;
}
