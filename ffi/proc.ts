/**
 * Small `/proc` files read with libc: Deno refuses `/proc/self`, `/proc/<pid>`,
 * `/proc/meminfo` and `/proc/cpuinfo` to anything but `--allow-all`, whatever `--allow-read`
 * says.
 *
 * @module
 */
import { dlopenLazy } from "./dlopen_lazy.ts";
import { cString } from "./cstring.ts";

const LIBC_SYMBOLS = {
  // int open(const char *pathname, int flags)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count)
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | null = null;

/**
 * The text of `path` (up to `maxBytes`, 64 KiB by default; `/proc/self/maps` of a Deno process
 * is larger), or `null` when it cannot be opened.
 */
export function readProcText(path: string, maxBytes = 64 * 1024): string | null {
  libc ??= dlopenLazy("libc.so.6", LIBC_SYMBOLS).symbols;
  const fd = libc.open(cString(path), 0);
  if (fd < 0) return null;
  try {
    const buffer = new Uint8Array(maxBytes);
    let length = 0;
    while (length < buffer.length) {
      const n = Number(libc.read(fd, buffer.subarray(length), BigInt(buffer.length - length)));
      if (n <= 0) break;
      length += n;
    }
    return new TextDecoder().decode(buffer.subarray(0, length));
  } finally {
    libc.close(fd);
  }
}

/**
 * `/proc/cpuinfo` (up to 1 MiB: a processor is about 1.5 KB of it), or `null`. Read with libc
 * because Deno refuses it without `--allow-all`: a sandboxed run could not pick its CPU variant
 * from it, and ggml then loaded and scored all fifteen.
 */
export function cpuinfoText(): string | null {
  return readProcText("/proc/cpuinfo", 1 << 20);
}

/** Bytes of memory the kernel says a new allocation can still get (MemAvailable + SwapFree). */
export function availableMemory(): number | null {
  const text = readProcText("/proc/meminfo");
  if (text === null) return null;
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s*(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  const available = kib("MemAvailable") + (kib("SwapFree") || 0);
  return Number.isFinite(available) ? available * 1024 : null;
}
