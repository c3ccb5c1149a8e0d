// The kernel's floor for one box: clone3 into the namespaces every runbox box gets (user, pid,
// mount, network, ipc, uts, cgroup), exec the command, wait for it. No id maps, mounts, cgroups,
// seccomp or limits: nothing a sandbox can skip and still be one. bench/exec_bench.sh runs it
// as a contender, so that "runbox - bare" can be read against what the namespaces alone cost.
//
//   ns_floor COMMAND [ARG...]     (as root)
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
             CLONE_NEWUTS | CLONE_NEWCGROUP;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) {
    perror("ns_floor: clone3");
    return 125;
  }
  if (pid == 0) {
    execv(argv[1], argv + 1);
    _exit(127);
  }
  int status = 0;
  if (waitpid((pid_t)pid, &status, 0) < 0) {
    perror("ns_floor: waitpid");
    return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
