/* ecs-stress: the test image of amazon-ecs-stress, for OOM and CPU tests.
 *   ecs-stress [-concurrency N] [-memory M]
 * Writes every page of M MiB (so the memory is resident, not just reserved), then spins
 * N threads that never exit. Flags also accept --flag and -flag=value (Go's flag syntax). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
  fprintf(stderr, "usage: ecs-stress [-concurrency N] [-memory MiB]\n");
  exit(2);
}

static long parse_count(const char *flag, const char *v) {
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < 0) {
    fprintf(stderr, "ecs-stress: %s: invalid value \"%s\"\n", flag, v);
    exit(2);
  }
  return n;
}

static void *spin(void *arg) {
  volatile unsigned long counter = 0;
  (void)arg;
  for (;;) counter++;
  return NULL;
}

int main(int argc, char **argv) {
  long concurrency = 1, memory_mib = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') usage();
    a += (a[1] == '-') ? 2 : 1;
    const char *eq = strchr(a, '=');
    size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value) usage();
    if (name_len == 11 && strncmp(a, "concurrency", 11) == 0)
      concurrency = parse_count("-concurrency", value);
    else if (name_len == 6 && strncmp(a, "memory", 6) == 0)
      memory_mib = parse_count("-memory", value);
    else
      usage();
  }

  long page = sysconf(_SC_PAGESIZE);
  size_t bytes = (size_t)memory_mib << 20;
  if (bytes > 0) {
    char *mem = malloc(bytes);
    if (!mem) {
      fprintf(stderr, "ecs-stress: malloc %ld MiB: %s\n", memory_mib, strerror(errno));
      return 1;
    }
    for (size_t off = 0; off < bytes; off += (size_t)page) mem[off] = (char)(off / page);
  }
  printf("ecs-stress: %ld MiB written, %ld threads spinning\n", memory_mib, concurrency);
  fflush(stdout);

  for (long t = 0; t < concurrency; t++) {
    pthread_t th;
    int err = pthread_create(&th, NULL, spin, NULL);
    if (err != 0) {
      fprintf(stderr, "ecs-stress: pthread_create: %s\n", strerror(err));
      return 1;
    }
  }
  for (;;) pause();
}
