/**
 * `Deno.dlopen` that binds most symbols on first use.
 *
 * Deno compiles a fast-call trampoline for every symbol `Deno.dlopen` is given, about 55 µs
 * each: libllama's 119 symbols took 7 ms of a 70 ms start, most of them never called by the
 * mode that runs. Here only the symbols named `eager` (those called per decode step or per
 * vocabulary entry) are bound that way. Every other symbol is looked up with `dlsym` when the
 * library opens (a missing one still fails the open, naming it) and becomes a function-pointer
 * call the first time it is read: about 8 µs to make and 0.5 µs a call instead of 10 ns, which
 * is nothing for a call made once per model, context or request.
 *
 * @module
 */
import { cString } from "./cstring.ts";

const DLSYM = {
  // void *dlsym(void *handle, const char *symbol)
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** glibc's flags, the same on x86-64 and arm64. */
const RTLD_LAZY = 0x1;
const RTLD_NOLOAD = 0x4;

interface Libdl {
  dlopen(path: Uint8Array, flags: number): Deno.PointerValue;
  dlsym(handle: Deno.PointerValue, name: Uint8Array): Deno.PointerValue;
  dlclose(handle: Deno.PointerValue): number;
}

let dl: Libdl | null = null;

/**
 * libc's dlsym bound with a fast call, dlopen and dlclose through it (glibc before 2.34 keeps
 * them in libdl).
 */
function libdl(): Libdl {
  if (dl !== null) return dl;
  let dlsym: Deno.DynamicLibrary<typeof DLSYM>["symbols"]["dlsym"];
  try {
    dlsym = Deno.dlopen("libc.so.6", DLSYM).symbols.dlsym;
  } catch {
    dlsym = Deno.dlopen("libdl.so.2", DLSYM).symbols.dlsym;
  }
  const find = (name: string) => {
    const pointer = dlsym(null, cString(name));
    if (pointer === null) throw new Error(`Failed to find ${name} in libc`);
    return pointer as Deno.PointerObject<never>;
  };
  const open = new Deno.UnsafeFnPointer(
    find("dlopen"),
    {
      parameters: ["buffer", "i32"],
      result: "pointer",
    } as const,
  );
  const close = new Deno.UnsafeFnPointer(
    find("dlclose"),
    {
      parameters: ["pointer"],
      result: "i32",
    } as const,
  );
  dl = {
    dlopen: (path, flags) => open.call(path as Uint8Array<ArrayBuffer>, flags),
    dlsym: (handle, name) => dlsym(handle, name as Uint8Array<ArrayBuffer>),
    dlclose: (handle) => close.call(handle),
  };
  return dl;
}

/** What {@linkcode dlopenLazy} returns: the shape of `Deno.DynamicLibrary`. */
export interface LazyLibrary<S extends Deno.ForeignLibraryInterface> {
  readonly symbols: Deno.StaticForeignLibraryInterface<S>;
  /** Closes the library (once; later calls do nothing). Its functions must not be called after. */
  close(): void;
}

/**
 * Opens `path` like `Deno.dlopen(path, symbols)`, binding only `eager` up front (see the
 * module's note).
 *
 * @throws {Error} As `Deno.dlopen` does: the library cannot be opened, or a symbol that is not
 *   `optional` is missing from it (named in the message).
 */
export function dlopenLazy<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
  eager: readonly (keyof S & string)[] = [],
): LazyLibrary<S> {
  const eagerSymbols: Deno.ForeignLibraryInterface = {};
  for (const name of eager) eagerSymbols[name] = symbols[name]!;
  const lib = Deno.dlopen(path, eagerSymbols);
  const { dlopen, dlsym, dlclose } = libdl();
  // The handle Deno holds, again (the library is loaded: this only counts a reference).
  const handle = dlopen(cString(path), RTLD_LAZY | RTLD_NOLOAD);
  if (handle === null) {
    lib.close();
    throw new Error(`Failed to look up symbols in "${path}": dlopen(RTLD_NOLOAD) found no handle`);
  }
  const out: Record<string, unknown> = { ...lib.symbols };
  for (const [name, definition] of Object.entries(symbols)) {
    if (name in out) continue;
    const fn = definition as Deno.ForeignFunction & { name?: string };
    const pointer = dlsym(handle, cString(fn.name ?? name));
    if (pointer === null) {
      if (fn.optional) {
        out[name] = null;
        continue;
      }
      dlclose(handle);
      lib.close();
      throw new Error(`Failed to register symbol ${name}: ${fn.name ?? name} is not in "${path}"`);
    }
    const { name: _alias, optional: _optional, ...signature } = fn;
    Object.defineProperty(out, name, {
      configurable: true,
      enumerable: true,
      get() {
        const callable = new Deno.UnsafeFnPointer(
          pointer as Deno.PointerObject<never>,
          signature,
        ) as unknown as {
          call(...args: unknown[]): unknown;
        };
        const call = (...args: unknown[]) => callable.call(...args);
        Object.defineProperty(out, name, { value: call, enumerable: true });
        return call;
      },
    });
  }
  let closed = false;
  return {
    symbols: out as Deno.StaticForeignLibraryInterface<S>,
    close() {
      if (closed) return;
      closed = true;
      dlclose(handle);
      lib.close();
    },
  };
}
