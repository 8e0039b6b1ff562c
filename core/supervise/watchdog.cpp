// SPDX-License-Identifier: MIT
// spmi-watchdog: the waiting half of a lean supervisor's watchdog, with no C library at all, so the
// process that waits for a supervisor's death costs one or two pages. Started by the supervisor's forked
// child (parent-death signal SIGUSR1 set and blocked), it waits until `caller` is no longer its parent,
// then executes the rest of its command line (`spmi-supervise --watchdog ...`, which ends or replaces the
// task), with the same descriptors, environment and signal mask.
//   spmi-watchdog <caller> <program> [args...]
// x86-64 Linux only (raw system calls); elsewhere the supervisor starts `spmi-supervise --watchdog`.

namespace {

constexpr long k_sys_execve = 59;
constexpr long k_sys_exit = 60;
constexpr long k_sys_getppid = 110;
constexpr long k_sys_rt_sigtimedwait = 128;
constexpr unsigned long k_sigusr1_bit = 1ul << (10 - 1);  // SIGUSR1 is 10 on x86-64

long
call(long number, long a = 0, long b = 0, long c = 0, long d = 0)
{
  long result;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return result;
}

[[noreturn]] void
leave(long status)
{
  for (;;) {
    call(k_sys_exit, status);
  }
}

// A pid written in decimal; -1 when it is not one.
long
parse_pid(const char* text)
{
  long value = 0;
  if (*text == '\0') {
    return -1;
  }
  for (; *text; ++text) {
    if (*text < '0' || *text > '9' || value > 100000000) {
      return -1;
    }
    value = value * 10 + (*text - '0');
  }
  return value;
}

} // namespace

extern "C" [[noreturn]] void
spmi_watchdog_main(long* stack)
{
  const long argc = stack[0];
  char** argv = reinterpret_cast<char**>(stack + 1);
  char** envp = argv + argc + 1;
  const long caller = argc >= 3 ? parse_pid(argv[1]) : -1;
  if (caller <= 0) {
    leave(2);
  }
  const unsigned long wake = k_sigusr1_bit;
  // A SIGUSR1 from anyone else while the caller lives changes nothing.
  while (call(k_sys_getppid) == caller) {
    call(k_sys_rt_sigtimedwait, reinterpret_cast<long>(&wake), 0, 0, sizeof wake);
  }
  call(k_sys_execve, reinterpret_cast<long>(argv[2]), reinterpret_cast<long>(argv + 2), reinterpret_cast<long>(envp));
  leave(127);
}

// The entry point: the kernel's initial stack (argc, argv, envp) handed to spmi_watchdog_main, aligned.
asm(".text\n"
    ".globl _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call spmi_watchdog_main\n"
    "  hlt\n");
