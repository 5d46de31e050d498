/* xl: Xen's command-line toolstack syntax over libkxl. One file per group of commands; the
 * table in xl.c names each command's handler. */
#ifndef XL_XL_H
#define XL_XL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxl/kxl.h"

struct xl_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    bool needs_ctx; /* open the context (and start services) before fn */
    const char *usage;
    const char *summary;
};

/* The context of this xl process, opened by main for commands that need it. */
extern struct kxl_ctx *xl_ctx;

/* Opens xl_ctx (starting the services when needed); prints the reason on failure. */
int xl_open_ctx(void);
/* "xl: <msg>" on stderr. */
void xl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A printf-like reporter: xl_err, or the monitor's log. */
typedef void xl_say_fn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Forks the build guard (build_guard.c) for the build who (a command's name) is about to
 * make: it tears down what the build made if this process dies before the build is done or
 * released. It keeps no copy of this process's connections, so it may be forked with them
 * open. say (NULL: xl_err) reports what it did, and here why there is no guard. */
void xl_guard_start(const char *who, xl_say_fn *say);
/* Has ctx's builds reported to the guard (its build hook); nothing when there is no guard. */
void xl_guard_watch(struct kxl_ctx *ctx);
/* xl_open_ctx for a command that builds a domain: first xl_guard_start, then xl_guard_watch
 * of xl_ctx. */
int xl_guard_open_ctx(const char *who);
/* Nothing left to guard: the build is done and its domain stays (or it failed and undid
 * itself). Also runs when xl exits by itself. */
void xl_guard_release(void);
/* Resolves a domain argument (name or id); prints the error and returns -ENOENT if unknown. */
int xl_find_domain(const char *spec, uint16_t *domid);
int xl_usage(const char *cmd);

/* Global options (xl [-v] [-N] [-f] [-t] [-T] <command>): -N makes commands that change
 * state print what they would do instead (create prints its config). */
extern bool xl_dry_run;
/* -v: restore and migration print the time of each phase on stderr (docs/xl.md). */
extern bool xl_verbose;
/* -t: progress lines are rewritten in place (with CR) even when stderr is no terminal. */
extern bool xl_progress_cr;
/* When this xl started (kxen_now_ns), for the phase times. */
extern uint64_t xl_start_ns;
/* "WHO: domain N running after ... ms: its pages ..., the rest ...": the last restore's
 * phases (kxl_restore_times) on stderr, timed from since_ns. */
void xl_print_restore_times(const char *who, uint16_t domid, uint64_t since_ns);

struct option;
/* Xen's option habits for one command: getopt_long with GNU permutation (options may follow
 * the config file or domain), long names where Xen has them. -h/--help prints the command's
 * usage on stdout and returns XL_OPT_HELP (exit 0); an unknown option returns '?' after
 * getopt's message. The first call for a command starts a fresh scan. */
#define XL_OPT_HELP 0x1000
int xl_getopt(int argc, char **argv, const char *opts, const struct option *longopts,
              const char *cmd);

int main_create(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_list(int argc, char **argv);
int main_info(int argc, char **argv);
/* The host's /proc/meminfo line key ("MemTotal", ...) in KiB; 0 when it cannot be read. */
unsigned long long xl_meminfo_kb(const char *key);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_dmesg(int argc, char **argv);
int main_vcpu_list(int argc, char **argv);
int main_vcpu_exits(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_console(int argc, char **argv);
int main_block_attach(int argc, char **argv);
int main_block_detach(int argc, char **argv);
int main_block_list(int argc, char **argv);
int main_network_attach(int argc, char **argv);
int main_network_detach(int argc, char **argv);
int main_network_list(int argc, char **argv);
int main_devd(int argc, char **argv);
int main_mem_set(int argc, char **argv);
int main_mem_max(int argc, char **argv);
int main_vcpu_set(int argc, char **argv);
int main_vcpu_pin(int argc, char **argv);
int main_sched_credit(int argc, char **argv);
int main_sysrq(int argc, char **argv);
int main_trigger(int argc, char **argv);
int main_button_press(int argc, char **argv);
int main_dump_core(int argc, char **argv);
int main_top(int argc, char **argv);
int main_vm_list(int argc, char **argv);
int main_config_update(int argc, char **argv);

/* Xen's cpu lists ("all", "0-3,^2", ...) to and from a map of host CPUs 0..255. */
int xl_cpumap_parse(const char *s, uint64_t map[KXL_CPUMAP_WORDS]);
void xl_cpumap_format(const uint64_t map[KXL_CPUMAP_WORDS], char *out, size_t len);

/* Reads the config file plus key=value overrides into dc; prints the reason on failure. */
int xl_load_config(const char *file, char **extras, int nr_extras, struct kxl_domain_config *dc);
/* The config `xl config-update` stored for the domain called name, for its next restart:
 * <rundir>/config-update/<name>.cfg. take() loads it into dc and removes it: 0, -ENOENT when
 * there is none, or the reason logged by the caller in why. */
int xl_config_update_path(const char *rundir, const char *name, char *out, size_t len);
int xl_config_update_take(const char *rundir, const char *name, struct kxl_domain_config *dc);

/* A config file's text, for save and migrate to carry (NUL-terminated; the caller frees it);
 * NULL after printing why (cannot open, not a regular file, too large). */
char *xl_read_config_text(const char *file);
/* In a forked domain monitor: own session, output to <rundir>/xl-<name>.log. */
void xl_detach_monitor(const char *rundir, const char *name);
/* Closes xl_ctx and copies its run directory to rundir first: a forked monitor must not share
 * this process's kxend and xenstored connections (it and the console open their own). */
void xl_close_ctx_keep_rundir(char *rundir, size_t len);
/* Forks the detached domain monitor for dc's domain (prints why it could not); the child
 * frees dc and exits. */
void xl_start_monitor(const char *rundir, struct kxl_domain_config *dc, uint16_t domid);
int main_save(int argc, char **argv);
int main_restore(int argc, char **argv);
int main_migrate(int argc, char **argv);
int main_migrate_receive(int argc, char **argv);

/* The config xl would build, as JSON on stdout (the dry run of create). */
void xl_print_config_json(const struct kxl_domain_config *dc);

/* Attaches the terminal to a domain's console through xenconsoled until Ctrl-] or the console
 * closes. Returns 0 or -errno. */
int xl_console_attach(const char *rundir, uint16_t domid);
/* Runs the on_* actions for a domain until it is gone (the per-domain monitor); a restart may
 * replace *dc with the config xl config-update stored. */
int xl_monitor_run(struct kxl_domain_config *dc, uint16_t domid);

/* A JSON string literal of s on stdout (null for NULL), as Xen's xl prints them. */
void xl_json_str(const char *s);

#endif
