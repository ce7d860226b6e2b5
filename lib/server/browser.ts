/**
 * Opens the chat page in the user's browser, like llamafile does, and never fails:
 * no browser, no display, no permission to run one (the sandbox) are all fine. Call it
 * before the sandbox forbids starting processes.
 *
 * @module
 */

/** The command that opens `url` on `os`, or `null` where there is none we trust. */
export function browserCommand(
  os: string,
  url: string,
): { command: string; args: string[] } | null {
  switch (os) {
    case "darwin":
      return { command: "open", args: [url] };
    case "windows":
      return { command: "explorer.exe", args: [url] };
    case "linux":
    case "freebsd":
    case "openbsd":
    case "netbsd":
      return { command: "xdg-open", args: [url] };
    default:
      return null;
  }
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Starts the browser on `url` without waiting for it. On Unix-likes other than macOS it
 * does nothing without `DISPLAY` or `WAYLAND_DISPLAY`, so `xdg-open` cannot start a text
 * browser in the server's terminal. Returns whether a browser process was started.
 */
export function openBrowser(url: string): boolean {
  const os = Deno.build.os;
  const spec = browserCommand(os, url);
  if (spec === null) return false;
  if (
    os !== "darwin" && os !== "windows" && env("DISPLAY") === undefined &&
    env("WAYLAND_DISPLAY") === undefined
  ) {
    return false;
  }
  try {
    const child = new Deno.Command(spec.command, {
      args: spec.args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.catch(() => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
