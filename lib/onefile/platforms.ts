/**
 * The platforms a llamafile can carry a runtime for, and where each runtime comes from: the
 * `deno` binary of npm's `@deno/<platform>` at our Deno version, and the libllama/ggml set of
 * `@node-llama-cpp/<platform>` at our llama.cpp release. Every package is pinned by version and
 * by the `sha512` integrity the npm registry publishes for it, checked before use.
 *
 * A platform is listed only once its library's struct ABI is known to match `ffi/structs.ts`
 * (the same llama.cpp release, so the same `llama.h`; the guard checks it again at start).
 *
 * @module
 */

/** An npm package, pinned. */
export interface NpmPackage {
  /** Package name, e.g. `@deno/linux-arm64-glibc`. */
  name: string;
  /** Exact version. */
  version: string;
  /** The registry's `dist.integrity` of the tarball (`sha512-<base64>`). */
  integrity: string;
}

/** One platform a llamafile can hold a runtime for. */
export interface RuntimePlatform {
  /** Our name for it, e.g. `linux-arm64` (the `runtime/<name>/` folder, `--platform` words). */
  name: string;
  /** `uname -s`/`uname -m` pairs (`"Linux aarch64"`) of the machines that run it natively. */
  uname: readonly string[];
  /** `Deno.build.os`/`Deno.build.arch` of it, for the packing machine's own platform. */
  build: { os: string; arch: string };
  /** The `deno` binary: its package and its path inside the package. */
  deno: NpmPackage & { binary: string };
  /** libllama and ggml: the package and the folder of the shared libraries inside it. */
  llama: NpmPackage & { libDir: string };
}

/** The Deno version the pinned `deno` packages have (the app bundle is made by the same). */
export const PINNED_DENO_VERSION = "2.9.6";
/** The node-llama-cpp release whose libraries we pin (llama.cpp v0.5.0). */
export const PINNED_NODE_LLAMA_CPP = "3.22.1";

/**
 * Every platform we can pack, in the order `--platform all` takes them.
 *
 * Not here: macOS. Its npm packages are at node-llama-cpp 3.21.1 (llama.cpp v0.4.0): that
 * release's `llama.h` declares the same structs as ours (checked line by line), but its
 * libraries are named differently (`libllama.metal.v0.4.0.dylib`), the FFI layer and the
 * launcher know only Linux (`.so`, `sha256sum`), and nothing could be run on a Mac here (see
 * the README).
 */
export const PLATFORMS: Readonly<Record<string, RuntimePlatform>> = {
  "linux-x64": {
    name: "linux-x64",
    uname: ["Linux x86_64"],
    build: { os: "linux", arch: "x86_64" },
    deno: {
      name: "@deno/linux-x64-glibc",
      version: PINNED_DENO_VERSION,
      integrity:
        "sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==",
      binary: "deno",
    },
    llama: {
      name: "@node-llama-cpp/linux-x64",
      version: PINNED_NODE_LLAMA_CPP,
      integrity:
        "sha512-5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg==",
      libDir: "bins/linux-x64",
    },
  },
  "linux-arm64": {
    name: "linux-arm64",
    uname: ["Linux aarch64", "Linux arm64"],
    build: { os: "linux", arch: "aarch64" },
    deno: {
      name: "@deno/linux-arm64-glibc",
      version: PINNED_DENO_VERSION,
      integrity:
        "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==",
      binary: "deno",
    },
    llama: {
      name: "@node-llama-cpp/linux-arm64",
      version: PINNED_NODE_LLAMA_CPP,
      integrity:
        "sha512-W+7naKCXX9/eEjjFmRS8vvx91QyLXDbeFxexZc3bh/PtQABZgmRL3C0AtYYXn4YGTj/3Qor4lWZn2tpjZFPLdQ==",
      libDir: "bins/linux-arm64",
    },
  },
};

/** The names of {@linkcode PLATFORMS}. */
export const PLATFORM_NAMES: readonly string[] = Object.keys(PLATFORMS);

/** The platform of the machine `build` describes (default: this process), or null. */
export function platformOf(
  build: { os: string; arch: string } = Deno.build,
): RuntimePlatform | null {
  return Object.values(PLATFORMS).find((p) =>
    p.build.os === build.os && p.build.arch === build.arch
  ) ?? null;
}

/**
 * Reads a `--platform` value: `all`, or platform names separated by commas, each once.
 *
 * @returns The names, in the order given (`all`: the order of {@linkcode PLATFORMS}).
 * @throws {RangeError} On an unknown or repeated name, or an empty list.
 */
export function parsePlatformList(text: string): string[] {
  if (text === "all") return [...PLATFORM_NAMES];
  const names = text.split(",").map((name) => name.trim());
  const known = PLATFORM_NAMES.join(", ");
  for (const [i, name] of names.entries()) {
    if (name === "") {
      throw new RangeError(`Invalid platform list "${text}": it has an empty name`);
    }
    if (!Object.hasOwn(PLATFORMS, name)) {
      throw new RangeError(`Unknown platform "${name}": this version packs ${known}, or all`);
    }
    if (names.indexOf(name) !== i) {
      throw new RangeError(`Invalid platform list "${text}": "${name}" is named twice`);
    }
  }
  return names;
}
