/* measure: times commands, interleaved, for bench/run.sh.
 *
 *   measure [-n RUNS] [-w WARMUP] [-r RAW.tsv] -- CASE [::: CASE]...
 *   CASE := LABEL STEP [;; STEP]...      STEP := PROGRAM [ARG]...
 *
 * Each round runs every case once, in an order rotated by one per round, so that a noisy
 * neighbour slows every case alike. A case's steps run one after the other (e.g. create,
 * start, delete) and count as one sample: the wall time from the first fork to the last
 * exit (CLOCK_MONOTONIC) and the largest ru_maxrss that wait4 reports for a step, which
 * covers the step's process and every descendant it waited for. "{i}" in an argument is
 * replaced by a run number that is unique across rounds, for container ids.
 *
 * A step that exits non-zero fails its case: its stderr is printed, the case's last step
 * is run untimed (cleanup, e.g. delete --force) and the case is dropped from later rounds.
 * Orphans (a detached container's init) are reaped: measure is a child subreaper.
 *
 * Prints one line per case:
 *   LABEL runs failed median_ms p25_ms p75_ms min_ms rss_median_kib rss_max_kib
 * Exit status 1 when a case failed, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct step {
  int argc;
  char **argv; /* templates, "{i}" not yet replaced */
};

struct sample {
  double ms;
  long rss_kib;
};

struct case_ {
  const char *label;
  int nsteps;
  struct step *steps;
  int failed;
  int nsamples;
  struct sample *samples;
};

static void die(const char *what) {
  fprintf(stderr, "measure: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void usage(void) {
  fprintf(stderr,
          "usage: measure [-n RUNS] [-w WARMUP] [-r RAW.tsv] -- LABEL CMD ARGS... [;; CMD ARGS...]"
          " [::: LABEL ...]\n");
  exit(2);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* arg with every "{i}" replaced by run */
static char *expand(const char *arg, long run) {
  char num[32];
  snprintf(num, sizeof num, "%ld", run);
  size_t cap = strlen(arg) + 1;
  for (const char *p = strstr(arg, "{i}"); p; p = strstr(p + 3, "{i}")) cap += strlen(num);
  char *out = malloc(cap), *o = out;
  if (!out) die("malloc");
  while (*arg) {
    if (strncmp(arg, "{i}", 3) == 0) {
      o = stpcpy(o, num);
      arg += 3;
    } else {
      *o++ = *arg++;
    }
  }
  *o = '\0';
  return out;
}

/* Runs one step with stdin and stdout on /dev/null and stderr into err_fd. Returns the
 * wait status; *rss gets ru_maxrss (KiB). Orphans reaped meanwhile are skipped. */
static int run_step(const struct step *s, long run, int err_fd, long *rss) {
  char **argv = calloc((size_t)s->argc + 1, sizeof *argv);
  if (!argv) die("calloc");
  for (int a = 0; a < s->argc; a++) argv[a] = expand(s->argv[a], run);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    dprintf(err_fd, "measure: cannot run %s: %s\n", argv[0], strerror(err));
    for (int a = 0; a < s->argc; a++) free(argv[a]);
    free(argv);
    *rss = 0;
    return 127 << 8;
  }
  int status = 0;
  for (;;) {
    struct rusage ru;
    pid_t got = wait4(-1, &status, 0, &ru);
    if (got < 0) {
      if (errno == EINTR) continue;
      die("wait4");
    }
    if (got == pid) {
      *rss = ru.ru_maxrss;
      break;
    }
  }
  for (int a = 0; a < s->argc; a++) free(argv[a]);
  free(argv);
  return status;
}

static void print_failure(const struct case_ *c, int step, long run, int status, int err_fd) {
  fprintf(stderr, "measure: %s: step %d (%s) of run %ld ", c->label, step + 1,
          c->steps[step].argv[0], run);
  if (WIFEXITED(status))
    fprintf(stderr, "exited with status %d\n", WEXITSTATUS(status));
  else
    fprintf(stderr, "was killed by signal %d\n", WTERMSIG(status));
  char buf[4096];
  off_t len = lseek(err_fd, 0, SEEK_END);
  off_t from = len > (off_t)sizeof buf - 1 ? len - (off_t)sizeof buf + 1 : 0;
  ssize_t n = pread(err_fd, buf, sizeof buf - 1, from);
  if (n > 0) {
    buf[n] = '\0';
    fprintf(stderr, "  stderr: %s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
  }
}

/* One sample of a case: 0, or -1 when a step failed (the case is then marked failed). */
static int run_case(struct case_ *c, long run, int err_fd, struct sample *out) {
  if (ftruncate(err_fd, 0) != 0 || lseek(err_fd, 0, SEEK_SET) < 0) die("truncate stderr capture");
  long rss_max = 0;
  double t0 = now_ms();
  for (int s = 0; s < c->nsteps; s++) {
    long rss = 0;
    int status = run_step(&c->steps[s], run, err_fd, &rss);
    if (rss > rss_max) rss_max = rss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      print_failure(c, s, run, status, err_fd);
      if (s < c->nsteps - 1) run_step(&c->steps[c->nsteps - 1], run, err_fd, &rss);
      c->failed = 1;
      return -1;
    }
  }
  out->ms = now_ms() - t0;
  out->rss_kib = rss_max;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct_d(const double *v, int n, double p) {
  int k = (int)(p * (n - 1) + 0.5);
  return v[k];
}

int main(int argc, char **argv) {
  long runs = 200, warmup = 5;
  const char *raw_path = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "+n:w:r:")) != -1) {
    switch (opt) {
      case 'n':
        runs = atol(optarg);
        break;
      case 'w':
        warmup = atol(optarg);
        break;
      case 'r':
        raw_path = optarg;
        break;
      default:
        usage();
    }
  }
  if (runs < 1 || warmup < 0 || optind >= argc) usage();

  /* Parse CASE [::: CASE]... */
  struct case_ *cases = calloc((size_t)argc, sizeof *cases);
  if (!cases) die("calloc");
  int ncases = 0;
  int i = optind;
  while (i < argc) {
    struct case_ *c = &cases[ncases++];
    c->label = argv[i++];
    c->steps = calloc((size_t)argc, sizeof *c->steps);
    c->samples = calloc((size_t)runs, sizeof *c->samples);
    if (!c->steps || !c->samples) die("calloc");
    for (;;) {
      struct step *s = &c->steps[c->nsteps++];
      s->argv = &argv[i];
      while (i < argc && strcmp(argv[i], ";;") != 0 && strcmp(argv[i], ":::") != 0) {
        s->argc++;
        i++;
      }
      if (s->argc == 0) usage();
      if (i < argc && strcmp(argv[i], ";;") == 0) {
        argv[i++] = NULL;
        continue;
      }
      if (i < argc) argv[i++] = NULL; /* ":::" */
      break;
    }
  }

  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die("prctl(PR_SET_CHILD_SUBREAPER)");
  int err_fd = memfd_create("measure-stderr", MFD_CLOEXEC);
  if (err_fd < 0) die("memfd_create");

  FILE *raw = NULL;
  if (raw_path) {
    raw = fopen(raw_path, "w");
    if (!raw) die(raw_path);
    fprintf(raw, "label\tround\tms\trss_kib\n");
  }

  long run_id = 0;
  for (long round = -warmup; round < runs; round++) {
    for (int k = 0; k < ncases; k++) {
      struct case_ *c = &cases[(k + (round < 0 ? 0 : round)) % ncases];
      if (c->failed) continue;
      struct sample s;
      if (run_case(c, run_id++, err_fd, &s) != 0 || round < 0) continue;
      c->samples[c->nsamples++] = s;
      if (raw) fprintf(raw, "%s\t%ld\t%.3f\t%ld\n", c->label, round, s.ms, s.rss_kib);
    }
  }
  if (raw) fclose(raw);

  int any_failed = 0;
  for (int k = 0; k < ncases; k++) {
    struct case_ *c = &cases[k];
    any_failed |= c->failed;
    if (c->nsamples == 0) {
      printf("%s 0 %d - - - - - -\n", c->label, c->failed);
      continue;
    }
    double *ms = malloc((size_t)c->nsamples * sizeof *ms);
    long *rss = malloc((size_t)c->nsamples * sizeof *rss);
    if (!ms || !rss) die("malloc");
    for (int j = 0; j < c->nsamples; j++) {
      ms[j] = c->samples[j].ms;
      rss[j] = c->samples[j].rss_kib;
    }
    qsort(ms, (size_t)c->nsamples, sizeof *ms, cmp_double);
    qsort(rss, (size_t)c->nsamples, sizeof *rss, cmp_long);
    printf("%s %d %d %.3f %.3f %.3f %.3f %ld %ld\n", c->label, c->nsamples, c->failed,
           pct_d(ms, c->nsamples, 0.5), pct_d(ms, c->nsamples, 0.25), pct_d(ms, c->nsamples, 0.75),
           ms[0], rss[c->nsamples / 2], rss[c->nsamples - 1]);
    free(ms);
    free(rss);
  }
  return any_failed ? 1 : 0;
}
