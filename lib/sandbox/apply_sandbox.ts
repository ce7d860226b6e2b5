/**
 * The pledge-like sandbox: Deno permissions (layer 1) and a seccomp-BPF filter that native
 * code cannot ignore (layer 2). See DESIGN.md §6.
 *
 * @module
 */
import { errnoName, installSeccompFilter } from "../../ffi/seccomp.ts";
import { type RevocablePermission, revokeDenoPermissions } from "./permissions.ts";
import {
  buildSeccompFilter,
  type OpenPolicy,
  type SandboxStage,
  type SeccompArch,
  type SeccompPolicy,
  seccompPolicy,
  SYS_SECCOMP,
  SYSCALL_GROUPS,
  type SyscallName,
  syscallNumber,
} from "./seccomp_filter.ts";

export type { SandboxStage };

/** Options of {@linkcode applySandbox}. */
export interface SandboxOptions {
  /** `--unsecure`: apply nothing. */
  unsecure?: boolean;
  /** Receives one warning line (without a program name) when the kernel layer cannot be installed. */
  log?: (line: string) => void;
  /**
   * What the process connected to before the sandbox and keeps using (the `--rpc` workers'
   * `host:port`): the sandbox's one exception, stated in the report. The filter itself does
   * not change: sockets made before it stay usable, and no new one can be made.
   */
  keptConnections?: readonly string[];
}

/** Deno permissions this process has without a scope. */
export type DenoPermissionName = RevocablePermission | "ffi";

/** Which layers are active and what they forbid (for `info --sandbox` and `--verbose`). */
export interface SandboxReport {
  stage: SandboxStage;
  /** Connections made before the sandbox and kept open through it (see the options). */
  keptConnections: string[];
  /** True when `--unsecure` turned both layers off. */
  unsecure: boolean;
  /** Layer 1: Deno permissions. */
  deno: {
    /** Permissions granted in full after this call (any other is scoped or refused). */
    granted: DenoPermissionName[];
    /** Permissions this call revoked. */
    revoked: RevocablePermission[];
  };
  /** Layer 2: the seccomp filter. */
  kernel: {
    active: boolean;
    /** The architecture the filter was built for. */
    arch: string;
    /** Syscalls that fail with EPERM (those this architecture has). */
    denied: SyscallName[];
    /** Which opens pass. */
    open: OpenPolicy;
    /** Why the layer is off, when it is. */
    reason?: string;
  };
}

const QUERIED: readonly DenoPermissionName[] = ["read", "write", "net", "env", "run", "ffi", "sys"];

function grantedInFull(): DenoPermissionName[] {
  return QUERIED.filter((name) => Deno.permissions.querySync({ name }).state === "granted");
}

/** The Deno permissions each stage revokes (FFI cannot be revoked). */
export const STAGE_REVOKES: Readonly<Record<SandboxStage, readonly RevocablePermission[]>> = {
  cli: ["write", "env", "run", "net", "sys"],
  "server-start": ["write", "env", "run", "net", "sys"],
  server: ["read", "write", "env", "run", "net", "sys"],
  "rpc-server": ["read", "write", "env", "run", "net", "sys"],
};

/**
 * Applies the sandbox of `stage` to this process, for good; a later stage adds to an earlier.
 *
 * - `"cli"`: call once the libraries are open (and the `--prompt-cache` file), before anything
 *   untrusted is parsed. Deno keeps read and FFI; the kernel refuses sockets, exec, writing
 *   files and changing the file system.
 * - `"server-start"`: call once the listener is open (and the browser started), before the
 *   model loads. Deno keeps read and FFI (the listener keeps accepting); the kernel refuses
 *   new sockets (accepting still works), exec, writing files.
 * - `"server"`: call once the model and contexts are loaded. Deno keeps FFI only; the kernel
 *   also refuses every `open`.
 * - `"rpc-server"`: call once the RPC worker listens. As `"server"`.
 *
 * The filter reaches every thread (TSYNC). On another OS or architecture, or a kernel
 * without seccomp, it logs one warning and keeps layer 1 only. Other failures throw.
 */
export function applySandbox(stage: SandboxStage, options: SandboxOptions = {}): SandboxReport {
  const { os, arch } = Deno.build;
  const policy = seccompPolicy(stage);
  const report: SandboxReport = {
    stage,
    keptConnections: [...(options.keptConnections ?? [])],
    unsecure: options.unsecure ?? false,
    deno: { granted: [], revoked: [] },
    kernel: { active: false, arch, denied: [], open: "any" },
  };
  if (!options.unsecure) {
    // Load the time zone now: with every open refused, a later first use could not read it.
    if (stage === "server" || stage === "rpc-server") new Date().getTimezoneOffset();
    report.deno.revoked = revokeDenoPermissions(STAGE_REVOKES[stage]);
  }
  report.deno.granted = grantedInFull();
  if (options.unsecure) {
    report.kernel.reason = "--unsecure";
    return report;
  }

  const reason = installKernelLayer(os, arch, policy);
  if (reason) {
    report.kernel.reason = reason;
    options.log?.(
      `warning: kernel sandbox is off (${reason}); only Deno permissions apply`,
    );
    return report;
  }
  const denied = policy.deny.filter((name) => syscallNumber(arch as SeccompArch, name) !== null);
  report.kernel = { active: true, arch, denied, open: policy.open };
  return report;
}

/** Why the kernel layer cannot exist on this platform, or `null` when it can. */
export function _kernelLayerUnsupported(os: string, arch: string): string | null {
  if (os !== "linux") return `seccomp is Linux-only, this is "${os}"`;
  if (!Object.hasOwn(SYS_SECCOMP, arch)) return `no syscall table for architecture "${arch}"`;
  return null;
}

/** Installs the filter; returns why it could not where that is expected, throws otherwise. */
function installKernelLayer(os: string, arch: string, policy: SeccompPolicy): string | null {
  const unsupported = _kernelLayerUnsupported(os, arch);
  if (unsupported) return unsupported;
  const seccompArch = arch as SeccompArch;
  const failure = installSeccompFilter(
    buildSeccompFilter(seccompArch, policy),
    SYS_SECCOMP[seccompArch],
  );
  if (failure === null) return null;
  // EINVAL: the kernel lacks no_new_privs, filter mode or TSYNC; ENOSYS: no seccomp syscall.
  const errno = errnoName(failure.errno);
  if (errno === "EINVAL" || errno === "ENOSYS") {
    return `the kernel does not support ${failure.step} for ${seccompArch}: ${errno}`;
  }
  const why = failure.thread !== undefined
    ? `thread ${failure.thread} could not take the filter`
    : errno;
  throw new Error(
    `Cannot install the seccomp sandbox: ${failure.step} failed with ${why} (use --unsecure to run without it)`,
  );
}

/** The report as short lines, one per layer. */
export function formatSandboxReport(report: SandboxReport): string[] {
  if (report.unsecure) return ["sandbox: off (--unsecure)"];
  const { deno, kernel } = report;
  const revoked = deno.revoked.length ? `; revoked ${deno.revoked.join(", ")}` : "";
  const lines = [
    `sandbox: deno permissions (${report.stage}): granted ${
      deno.granted.join(", ") || "nothing"
    } in full${revoked}`,
  ];
  if (!kernel.active) return [...lines, `sandbox: seccomp off (${kernel.reason})`];
  const denied = (group: readonly SyscallName[]) =>
    group.filter((name) => kernel.denied.includes(name));
  const { network, exec, otherProcesses, kernel: kernelGroup, fileChanges } = SYSCALL_GROUPS;
  const parts = [
    denied(network).join(", "),
    denied(exec).length ? "exec" : "",
    { any: "", "read-only": "opening files for writing", none: "opening files" }[kernel.open],
    denied(fileChanges).length ? "changing files" : "",
    denied(otherProcesses).length ? "other processes' memory" : "",
    `${denied(kernelGroup).length} kernel interfaces (io_uring, bpf, mount, modules, ...)`,
  ];
  lines.push(
    `sandbox: seccomp (${kernel.arch}, all threads): EPERM for ${parts.filter(Boolean).join("; ")}`,
  );
  const kept = report.keptConnections;
  if (kept.length > 0) {
    lines.push(
      `sandbox: exception: ${
        kept.length === 1 ? "the connection" : "the connections"
      } made before it to ${kept.join(", ")} ${
        kept.length === 1 ? "stays" : "stay"
      } open; no new socket can be made`,
    );
  }
  return lines;
}
