/* probe: reports what a process sees from inside a container, one fact per subcommand,
 * in plain lines that tests compare:
 *   probe syscall-mkdir PATH   errno of mkdir(PATH, 0755) as a number, 0 on success
 *   probe fds                  "FD -> TARGET" for every open fd (the fd reading the list left out)
 *   probe cwd                  the working directory
 *   probe ids                  "uid=U gid=G groups=G1,G2"
 *   probe caps                 the Cap* lines of /proc/self/status
 *   probe status FIELD...      the given lines of /proc/self/status (e.g. NoNewPrivs Seccomp)
 *   probe rlimit NAME...       "NAME SOFT HARD" (NOFILE NPROC CORE ...; -1 is unlimited)
 *   probe hostname             the UTS node name
 *   probe exit N               exits with status N
 * Exit status 0, or 1 when the probe itself could not run (message on stderr). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
  return 1;
}

static int cmd_syscall_mkdir(const char *path) {
  printf("%d\n", mkdir(path, 0755) == 0 ? 0 : errno);
  return 0;
}

static int cmd_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return fail("opendir /proc/self/fd");
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == own) continue;
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) n = 0;
    target[n] = '\0';
    printf("%d -> %s\n", fd, target);
  }
  closedir(d);
  return 0;
}

static int cmd_cwd(void) {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) return fail("getcwd");
  printf("%s\n", buf);
  return 0;
}

static int cmd_ids(void) {
  gid_t groups[NGROUPS_MAX];
  int n = getgroups(NGROUPS_MAX, groups);
  if (n < 0) return fail("getgroups");
  printf("uid=%u gid=%u groups=", (unsigned)getuid(), (unsigned)getgid());
  for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", (unsigned)groups[i]);
  printf("\n");
  return 0;
}

/* Prints the /proc/self/status lines whose field is in names (all Cap* lines when caps). */
static int print_status(char **names, int count, int caps) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return fail("open /proc/self/status");
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t field_len = strcspn(line, ":");
    int want = caps && strncmp(line, "Cap", 3) == 0;
    for (int i = 0; i < count && !want; i++)
      want = strlen(names[i]) == field_len && strncmp(line, names[i], field_len) == 0;
    if (want) fputs(line, stdout);
  }
  fclose(f);
  return 0;
}

static const struct {
  const char *name;
  int resource;
} rlimits[] = {
    {"AS", RLIMIT_AS},           {"CORE", RLIMIT_CORE},         {"CPU", RLIMIT_CPU},
    {"DATA", RLIMIT_DATA},       {"FSIZE", RLIMIT_FSIZE},       {"LOCKS", RLIMIT_LOCKS},
    {"MEMLOCK", RLIMIT_MEMLOCK}, {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
    {"NOFILE", RLIMIT_NOFILE},   {"NPROC", RLIMIT_NPROC},       {"RSS", RLIMIT_RSS},
    {"RTPRIO", RLIMIT_RTPRIO},   {"RTTIME", RLIMIT_RTTIME},     {"SIGPENDING", RLIMIT_SIGPENDING},
    {"STACK", RLIMIT_STACK},
};

static long long limit_value(rlim_t v) {
  return v == RLIM_INFINITY ? -1 : (long long)v;
}

static int cmd_rlimit(char **names, int count) {
  for (int i = 0; i < count; i++) {
    const char *name = names[i];
    if (strncasecmp(name, "RLIMIT_", 7) == 0) name += 7;
    size_t k = 0;
    while (k < sizeof rlimits / sizeof rlimits[0] && strcasecmp(rlimits[k].name, name) != 0) k++;
    if (k == sizeof rlimits / sizeof rlimits[0]) {
      fprintf(stderr, "probe: unknown rlimit \"%s\"\n", names[i]);
      return 1;
    }
    struct rlimit rl;
    if (getrlimit(rlimits[k].resource, &rl) != 0) return fail("getrlimit");
    printf("%s %lld %lld\n", rlimits[k].name, limit_value(rl.rlim_cur), limit_value(rl.rlim_max));
  }
  return 0;
}

static int cmd_hostname(void) {
  struct utsname u;
  if (uname(&u) != 0) return fail("uname");
  printf("%s\n", u.nodename);
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: probe syscall-mkdir PATH | fds | cwd | ids | caps | status FIELD... |\n"
          "             rlimit NAME... | hostname | exit N\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  const char *cmd = argv[1];
  int rc;
  if (strcmp(cmd, "syscall-mkdir") == 0 && argc == 3)
    rc = cmd_syscall_mkdir(argv[2]);
  else if (strcmp(cmd, "fds") == 0)
    rc = cmd_fds();
  else if (strcmp(cmd, "cwd") == 0)
    rc = cmd_cwd();
  else if (strcmp(cmd, "ids") == 0)
    rc = cmd_ids();
  else if (strcmp(cmd, "caps") == 0)
    rc = print_status(NULL, 0, 1);
  else if (strcmp(cmd, "status") == 0 && argc > 2)
    rc = print_status(argv + 2, argc - 2, 0);
  else if (strcmp(cmd, "rlimit") == 0 && argc > 2)
    rc = cmd_rlimit(argv + 2, argc - 2);
  else if (strcmp(cmd, "hostname") == 0)
    rc = cmd_hostname();
  else if (strcmp(cmd, "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  else
    return usage();
  if (fflush(stdout) != 0) return fail("write stdout");
  return rc;
}
