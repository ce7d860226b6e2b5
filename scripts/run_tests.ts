/**
 * `deno task test`: makes sure the system tools the tests drive are installed (as root it
 * installs them with apt-get; otherwise it stops with the one `apt-get install` line to run),
 * then runs `deno test` on the whole tree with the arguments given.
 *
 * @module
 */

/** A program some tests run (or a file they need, by absolute path), and its Debian package. */
export interface SystemTool {
  /** A command looked up on `PATH`, or an absolute path that must exist. */
  command: string;
  debianPackage: string;
  /** What the tests use it for. */
  why: string;
}

/** Every program the test suite drives that a fresh Debian with Node/npm may lack. */
export const SYSTEM_TOOLS: readonly SystemTool[] = [
  { command: "unzip", debianPackage: "unzip", why: "Info-ZIP reads our archives" },
  { command: "zipinfo", debianPackage: "unzip", why: "Info-ZIP lists our archives" },
  { command: "chromium", debianPackage: "chromium", why: "the chat page in a real browser" },
  { command: "busybox", debianPackage: "busybox", why: "the launcher under busybox sh" },
  { command: "zsh", debianPackage: "zsh", why: "the launcher under zsh" },
  {
    command: "qemu-aarch64-static",
    debianPackage: "qemu-user-static",
    why: "a packed llamafile's arm64 runtime, run under emulation",
  },
  {
    command: "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
    debianPackage: "libc6-arm64-cross",
    why: "the arm64 C library the arm64 deno and libllama link against (QEMU_LD_PREFIX)",
  },
  {
    command: "/usr/aarch64-linux-gnu/lib/libstdc++.so.6",
    debianPackage: "libstdc++6-arm64-cross",
    why: "the arm64 C++ library libllama links against",
  },
  {
    command: "cmake",
    debianPackage: "cmake",
    why: "building llama.cpp's RPC backend, the CPU backend of --build-native, and libmtmd",
  },
  {
    command: "make",
    debianPackage: "make",
    why: "building llama.cpp's RPC backend, the CPU backend of --build-native, and libmtmd",
  },
  {
    command: "g++",
    debianPackage: "g++",
    why: "building llama.cpp's RPC backend, the CPU backend of --build-native, and libmtmd",
  },
  { command: "git", debianPackage: "git", why: "cloning llama.cpp's source from its bundle" },
  { command: "stdbuf", debianPackage: "coreutils", why: "llama.cpp's rpc-server, line-buffered" },
  { command: "nginx", debianPackage: "nginx", why: "the load balancer in front of replicas" },
  {
    command: `/usr/share/vulkan/icd.d/lvp_icd.${Deno.build.arch}.json`,
    debianPackage: "mesa-vulkan-drivers",
    why: "lavapipe (a Vulkan device on the CPU, with libvulkan1) for the GPU offload tests",
  },
  {
    command: "/usr/lib/python3/dist-packages/pytest/__init__.py",
    debianPackage: "python3-pytest",
    why: "llama.cpp's own server tests (deno task conformance, tests/conformance_test.ts)",
  },
  {
    command: "/usr/lib/python3/dist-packages/requests/__init__.py",
    debianPackage: "python3-requests",
    why: "the HTTP client of llama.cpp's server tests",
  },
  {
    command: "/usr/lib/python3/dist-packages/wget.py",
    debianPackage: "python3-wget",
    why: "imported by llama.cpp's server tests (utils.py)",
  },
  {
    command: "/usr/lib/python3/dist-packages/filelock/__init__.py",
    debianPackage: "python3-filelock",
    why: "imported by llama.cpp's server tests (conftest.py)",
  },
  { command: "readelf", debianPackage: "binutils", why: "libmtmd's NEEDED and RUNPATH" },
];

/** True when `command` is an executable in a folder of `PATH` (or, absolute, a file that exists). */
export function found(command: string, path = Deno.env.get("PATH") ?? ""): boolean {
  if (command.startsWith("/")) {
    try {
      return Deno.statSync(command).isFile;
    } catch {
      return false;
    }
  }
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** The Debian packages of the tools missing from `PATH`, each once, in table order. */
export function missingPackages(path?: string): string[] {
  const missing = SYSTEM_TOOLS.filter((tool) => !found(tool.command, path));
  return [...new Set(missing.map((tool) => tool.debianPackage))];
}

async function run(command: string, args: string[]): Promise<boolean> {
  const status = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).spawn().status;
  return status.success;
}

/** Installs `packages` with apt-get as root (or through passwordless sudo); false when it cannot. */
async function install(packages: string[]): Promise<boolean> {
  const root = Deno.uid() === 0;
  const sudo = !root && found("sudo") && await run("sudo", ["-n", "true"]);
  if (!root && !sudo) return false;
  const apt = (args: string[]) =>
    root ? run("apt-get", args) : run("sudo", ["-n", "apt-get", ...args]);
  console.error(`llamafile tests: installing ${packages.join(", ")} with apt-get`);
  return await apt(["update", "-qq"]) &&
    await apt(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
}

async function main(args: string[]): Promise<number> {
  const packages = missingPackages();
  if (packages.length > 0 && !(await install(packages) && missingPackages().length === 0)) {
    console.error(
      `llamafile tests: missing system packages; run "sudo apt-get install -y ${
        missingPackages().join(" ")
      }" and try again`,
    );
    return 1;
  }
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-prompt", "--allow-all", "--doc", ...args],
    // The reference texts are the prebuilt CPU variant's, whatever `llamafile --build-native`
    // installed on this machine (tests/native_build_test.ts checks a build of its own).
    env: { LLAMAFILE_CPU_BACKEND: "prebuilt" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  return status.code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
