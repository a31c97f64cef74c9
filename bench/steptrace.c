/* steptrace: which instructions of a binary a command runs, for bench/hot-text.sh.
 *
 *   steptrace BINARY OUT -- PROGRAM [ARG]...
 *
 * Runs PROGRAM under ptrace, single-stepping it and every fork-like child it makes (the
 * container's init) until they exec something else, and writes to OUT, one per line in hex,
 * the offsets from BINARY's load address of each instruction executed inside BINARY's text,
 * in the order they first ran. Slow (a few microseconds per instruction) and exact. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "steptrace reads the x86_64 instruction pointer"
#endif

static unsigned long text_lo, text_hi, base;
static unsigned char *seen;
static pid_t done_pids[1024];
static int ndone;

static int is_done(pid_t p) {
  for (int i = 0; i < ndone; i++)
    if (done_pids[i] == p) return 1;
  return 0;
}

/* BINARY's executable mapping in pid and its load address (the mapping at offset 0). */
static void find_text(pid_t pid, const char *binary) {
  char path[64], line[4352];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(1);
  }
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off;
    char perm[8], name[4096] = "";
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &lo, &hi, perm, &off, name) < 4) continue;
    if (strcmp(name, binary) != 0) continue;
    if (off == 0 && base == 0) base = lo;
    if (perm[2] == 'x') {
      text_lo = lo;
      text_hi = hi;
    }
  }
  fclose(f);
  if (!text_hi) {
    fprintf(stderr, "steptrace: %s is not mapped by pid %d\n", binary, pid);
    exit(1);
  }
  seen = calloc(text_hi - text_lo, 1);
  if (!seen) exit(1);
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: steptrace BINARY OUT -- PROGRAM [ARG]...\n");
    return 2;
  }
  char *binary = realpath(argv[1], NULL);
  FILE *out = fopen(argv[2], "w");
  if (!binary || !out) {
    perror("steptrace");
    return 1;
  }
  pid_t child = fork();
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    execv(argv[4], argv + 4);
    _exit(127);
  }
  int status;
  waitpid(child, &status, 0);
  ptrace(PTRACE_SETOPTIONS, child, 0,
         PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC |
             PTRACE_O_EXITKILL);
  ptrace(PTRACE_CONT, child, 0, 0);
  int execs = 0, alive = 1, exit_code = 0;
  while (alive > 0) {
    pid_t p = waitpid(-1, &status, __WALL);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (p == child) exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      alive--;
      continue;
    }
    int sig = WSTOPSIG(status), event = status >> 16, deliver = 0;
    if (event == PTRACE_EVENT_EXEC) {
      if (execs++ == 0)
        find_text(p, binary);
      else if (ndone < 1024)
        done_pids[ndone++] = p; /* the container's process: not ours to trace */
    } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_VFORK) {
      alive++;
    } else if (sig == SIGTRAP) {
      if (seen && !is_done(p)) {
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, p, 0, &regs);
        if (regs.rip >= text_lo && regs.rip < text_hi && !seen[regs.rip - text_lo]) {
          seen[regs.rip - text_lo] = 1;
          fprintf(out, "%llx\n", regs.rip - base);
        }
      }
    } else if (!(sig == SIGSTOP && event == 0)) {
      deliver = sig;
    }
    ptrace(seen && !is_done(p) ? PTRACE_SINGLESTEP : PTRACE_CONT, p, 0, deliver);
  }
  fclose(out);
  return exit_code;
}
