/**
 * Paths that are dangerous to read even inside an allowed tree: other
 * processes' environment and memory, magic links that resolve by kernel
 * object rather than by name (/proc/PID/root, cwd, fd, map_files, /dev/fd),
 * the kernel's page tables and symbols, the tracing and debugging
 * filesystems, firmware tables and the security modules' interfaces. They are
 * denied unless a profile lists them under paths.allow_sensitive.
 */
export const SENSITIVE_PATHS: readonly string[] = [
  '/proc/*/environ', '/proc/*/task/*/environ',
  '/proc/*/mem', '/proc/*/task/*/mem',
  '/proc/*/pagemap', '/proc/*/task/*/pagemap',
  '/proc/*/auxv', '/proc/*/task/*/auxv',
  '/proc/*/syscall', '/proc/*/task/*/syscall',
  '/proc/*/stack', '/proc/*/task/*/stack',
  '/proc/*/exe', '/proc/*/task/*/exe',
  '/proc/*/root/**', '/proc/*/task/*/root/**',
  '/proc/*/cwd/**', '/proc/*/task/*/cwd/**',
  '/proc/*/fd/**', '/proc/*/task/*/fd/**',
  '/proc/*/map_files/**', '/proc/*/task/*/map_files/**',
  '/proc/kcore', '/proc/kmem', '/proc/kallsyms', '/proc/sysrq-trigger',
  // Physical-page facts: a side channel onto other processes' memory (Rowhammer, page-cache probing).
  '/proc/kpageflags', '/proc/kpagecount', '/proc/kpagecgroup', '/sys/kernel/mm/page_idle/**',
  // Reading consumes the kernel log for everyone else (and blocks): not a read-only act.
  '/proc/kmsg',
  // tracefs and debugfs (kernel addresses, other processes' activity), ACPI and EFI tables, LSM policy.
  '/sys/kernel/tracing/**', '/sys/kernel/debug/**', '/sys/firmware/**', '/sys/kernel/security/**',
  '/dev/fd/**', '/dev/stdin', '/dev/stdout', '/dev/stderr',
];
