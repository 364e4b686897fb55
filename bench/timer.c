/*
 * The benchmark's start-up timer: runs every command once per round, round after round, so
 * that slow drift of the machine (other tenants, CPU clocks) lands on every command alike;
 * hyperfine runs all runs of one command before the next, which puts drift between rows.
 *
 * Usage: timer ROUNDS WARMUP ARGV_FILE ENV_FILE [ARGV_FILE ENV_FILE]...
 *
 * Each file is a list of NUL-terminated strings: a command's argv, and its whole environment
 * (NAME=VALUE; nothing of the timer's own is added). A bare argv[0] is looked up in that
 * environment's PATH, as a web server's execvp would. An argv list may start with "<FILE":
 * that command's stdin is then a pipe already holding FILE's bytes (a request body, at most
 * 64 KiB: what a server writes before the script reads), else stdin is /dev/null. stdout is a
 * pipe drained to the end, stderr /dev/null. The order within a round is shuffled, so
 * no command always follows the same one.
 *
 * Prints one line per command, in the order given: its ROUNDS times in milliseconds, fork to
 * waitpid on CLOCK_MONOTONIC. Exits 1, naming the command, if one cannot be exec'd or exits
 * non-zero.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct command {
  const char *path; /* what execve runs: argv[0], or where the command's PATH finds it */
  char **argv;
  char **envp;
  char *name; /* argv joined with spaces, for messages */
  double *ms; /* one time per timed round */
  char *body; /* what the command reads on stdin, or NULL for /dev/null */
  size_t body_size;
};

static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("timer: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

/* Reads a file of NUL-terminated strings into a NULL-terminated array. */
static char **read_list(const char *file) {
  FILE *stream = fopen(file, "rb");
  if (!stream) die("cannot read %s: %s", file, strerror(errno));
  char *data = NULL;
  size_t size = 0;
  FILE *copy = open_memstream(&data, &size);
  char buffer[4096];
  size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, stream)) > 0) fwrite(buffer, 1, got, copy);
  if (ferror(stream)) die("cannot read %s: %s", file, strerror(errno));
  fclose(stream);
  fclose(copy);
  if (size > 0 && data[size - 1] != '\0') die("%s: the last string is not NUL-terminated", file);

  size_t count = 0;
  for (size_t i = 0; i < size; i++) count += data[i] == '\0';
  char **list = calloc(count + 1, sizeof *list);
  if (!list) die("out of memory");
  for (size_t i = 0, at = 0; i < count; i++) {
    list[i] = data + at;
    at += strlen(data + at) + 1;
  }
  return list;
}

/* Where `name` is found in the PATH of `envp`; `name` itself when it contains a slash. */
static const char *find_executable(const char *name, char **envp) {
  if (strchr(name, '/')) return name;
  const char *path = "";
  for (char **entry = envp; *entry; entry++) {
    if (strncmp(*entry, "PATH=", 5) == 0) path = *entry + 5;
  }
  for (const char *dir = path;;) {
    const char *end = strchrnul(dir, ':');
    char *candidate;
    /* An empty PATH entry means the current directory (POSIX). */
    if (end == dir ? asprintf(&candidate, "./%s", name) < 0
                   : asprintf(&candidate, "%.*s/%s", (int)(end - dir), dir, name) < 0)
      die("out of memory");
    if (access(candidate, X_OK) == 0) return candidate;
    free(candidate);
    if (*end == '\0') break;
    dir = end + 1;
  }
  die("%s: not found in the command's PATH (%s)", name, path);
  return NULL;
}

static char *join_words(char **words) {
  char *joined = NULL;
  size_t size = 0;
  FILE *stream = open_memstream(&joined, &size);
  for (char **word = words; *word; word++) fprintf(stream, "%s%s", word == words ? "" : " ", *word);
  fclose(stream);
  return joined;
}

/* Loads the stdin bytes of `command` from `file`; they must fit in a pipe without a reader. */
static void read_body(struct command *command, const char *file) {
  FILE *stream = fopen(file, "rb");
  if (!stream) die("%s: %s", file, strerror(errno));
  command->body = malloc(65536);
  if (!command->body) die("out of memory");
  command->body_size = fread(command->body, 1, 65536, stream);
  if (!feof(stream)) die("%s: more than 64 KiB", file);
  fclose(stream);
}

static double elapsed_ms(const struct timespec *start, const struct timespec *end) {
  return (double)(end->tv_sec - start->tv_sec) * 1e3 + (double)(end->tv_nsec - start->tv_nsec) / 1e6;
}

/* Runs `command` once and returns its time in milliseconds; exits the timer if it failed. */
static double run_once(const struct command *command, int dev_null) {
  int out[2], exec_error[2];
  /* exec_error's write end closes at a successful exec; after a failed one it carries errno. */
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(exec_error, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));

  int in = dev_null;
  if (command->body) {
    int body[2];
    if (pipe2(body, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
    if (write(body[1], command->body, command->body_size) != (ssize_t)command->body_size)
      die("%s: writing its body: %s", command->name, strerror(errno));
    close(body[1]);
    in = body[0];
  }

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    /* dup2 clears close-on-exec on the copies: the command keeps fds 0-2 and nothing else. */
    dup2(in, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(dev_null, STDERR_FILENO);
    execve(command->path, command->argv, command->envp);
    int error = errno;
    (void)!write(exec_error[1], &error, sizeof error);
    _exit(127);
  }
  close(out[1]);
  close(exec_error[1]);
  if (in != dev_null) close(in);
  char buffer[65536];
  for (;;) {
    ssize_t got = read(out[0], buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0 && errno != EINTR) die("%s: reading its stdout: %s", command->name, strerror(errno));
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid: %s", strerror(errno));
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  close(out[0]);

  int error;
  ssize_t got = read(exec_error[0], &error, sizeof error);
  close(exec_error[0]);
  if (got == (ssize_t)sizeof error) die("cannot exec %s (%s): %s", command->name, command->path, strerror(error));
  if (WIFSIGNALED(status)) die("%s was killed by signal %d", command->name, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) die("%s exited with status %d", command->name, WEXITSTATUS(status));
  return elapsed_ms(&start, &end);
}

/* xorshift64: a fixed seed gives the same orders every run, and rand() is not needed. */
static uint64_t next_random(void) {
  static uint64_t state = 0x9e3779b97f4a7c15u;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static void shuffle(size_t *order, size_t count) {
  for (size_t i = count - 1; i > 0; i--) {
    size_t j = (size_t)(next_random() % (i + 1));
    size_t swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
}

static long parse_count(const char *text, const char *what) {
  char *end;
  long value = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 0 || value > 1000000) die("bad %s: \"%s\"", what, text);
  return value;
}

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 3) % 2 != 0) {
    fprintf(stderr, "usage: timer ROUNDS WARMUP ARGV_FILE ENV_FILE [ARGV_FILE ENV_FILE]...\n");
    return 2;
  }
  long rounds = parse_count(argv[1], "ROUNDS");
  long warmup = parse_count(argv[2], "WARMUP");
  size_t count = (size_t)(argc - 3) / 2;

  struct command *commands = calloc(count, sizeof *commands);
  size_t *order = calloc(count, sizeof *order);
  if (!commands || !order) die("out of memory");
  for (size_t i = 0; i < count; i++) {
    struct command *command = &commands[i];
    command->argv = read_list(argv[3 + 2 * i]);
    command->envp = read_list(argv[4 + 2 * i]);
    if (command->argv[0] && command->argv[0][0] == '<') {
      read_body(command, command->argv[0] + 1);
      command->argv++;
    }
    if (!command->argv[0]) die("%s: no argv", argv[3 + 2 * i]);
    command->name = join_words(command->argv);
    command->path = find_executable(command->argv[0], command->envp);
    command->ms = calloc((size_t)rounds + 1, sizeof *command->ms);
    if (!command->ms) die("out of memory");
    order[i] = i;
  }

  int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev_null < 0) die("/dev/null: %s", strerror(errno));
  for (long round = -warmup; round < rounds; round++) {
    shuffle(order, count);
    for (size_t i = 0; i < count; i++) {
      double ms = run_once(&commands[order[i]], dev_null);
      if (round >= 0) commands[order[i]].ms[round] = ms;
    }
    if (round >= 0 && ((round + 1) % 10 == 0 || round + 1 == rounds))
      fprintf(stderr, "timer: %ld of %ld rounds done\n", round + 1, rounds);
  }

  for (size_t i = 0; i < count; i++) {
    for (long round = 0; round < rounds; round++) printf("%s%.3f", round == 0 ? "" : " ", commands[i].ms[round]);
    putchar('\n');
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
