/**
 * Whether this process's group is the foreground group of its terminal (`getpgrp()` and
 * `tcgetpgrp()` on the first of stdin, stdout, stderr that is a terminal), through libc: Deno
 * needs `--allow-all` to read `/proc/self/stat`, and has no call of its own for it.
 *
 * @module
 */

const LIBC = "libc.so.6";

const SYMBOLS = {
  // pid_t getpgrp(void)
  getpgrp: { parameters: [], result: "i32" },
  // pid_t tcgetpgrp(int fd)
  tcgetpgrp: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;

/**
 * True when this process is in the foreground process group of the terminal on stdin, stdout
 * or stderr (a Ctrl-C there reaches it); false when it is not, or none of them is a terminal;
 * null when libc cannot be asked (no `--allow-ffi`, not glibc).
 */
export function inForegroundGroup(): boolean | null {
  try {
    libc ??= Deno.dlopen(LIBC, SYMBOLS).symbols;
  } catch {
    return null;
  }
  const streams = [Deno.stdin, Deno.stdout, Deno.stderr];
  const fd = streams.findIndex((stream) => stream.isTerminal());
  if (fd < 0) return false;
  const foreground = libc.tcgetpgrp(fd);
  return foreground > 0 && foreground === libc.getpgrp();
}
