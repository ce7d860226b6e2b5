/**
 * Where benchmark artefacts (synthetic models, native builds, node-llama-cpp) are cached:
 * outside git, shared by every checkout on the machine.
 *
 * @module
 */

/**
 * Returns `${XDG_CACHE_HOME:-~/.cache}/llamafile-bench`, joined with `parts`.
 *
 * @param parts Path segments to append (no leading slashes).
 * @throws {Error} When neither `XDG_CACHE_HOME` nor `HOME` is set.
 */
export function cacheDir(...parts: string[]): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  let base: string;
  if (xdg) {
    base = xdg;
  } else {
    const home = Deno.env.get("HOME");
    if (!home) {
      throw new Error("Cannot locate the cache folder: neither XDG_CACHE_HOME nor HOME is set");
    }
    base = `${home}/.cache`;
  }
  return [base.replace(/\/+$/, ""), "llamafile-bench", ...parts].join("/");
}

/** True when `path` exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Runs `cmd args...` in `cwd`, inheriting stderr (progress stays visible) unless `quiet`.
 * Throws when the command exits non-zero; returns its stdout as text.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; quiet?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const command = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: options.quiet ? "piped" : "inherit",
  });
  const out = await command.output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = options.quiet ? new TextDecoder().decode(out.stderr).trim() : "";
    const tail = (stderr || stdout.trim()).split("\n").slice(-5).join("\n");
    throw new Error(
      `Cannot run "${[cmd, ...args].join(" ")}": exit code ${out.code}${tail ? `\n${tail}` : ""}`,
    );
  }
  return stdout;
}
