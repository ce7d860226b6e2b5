/**
 * The app as one JavaScript file: `deno bundle` of `cli.ts` with its npm dependencies (hono,
 * `@huggingface/jinja`) inlined, so a llamafile runs it with `deno run --cached-only` and no
 * network, no `node_modules` and no config.
 *
 * `deno bundle` needs esbuild, which Deno fetches from the npm registry the first time
 * (`@esbuild/linux-x64`) and then keeps in its cache (`DENO_DIR`).
 *
 * @module
 */

/** The checkout this module is in (`cli.ts` and `deno.json` live there). */
export function checkoutRoot(): string {
  const url = new URL("../../", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(`Cannot find the checkout: this module was loaded from "${url.href}"`);
  }
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

/** Options of {@linkcode bundleApp}. */
export interface BundleAppOptions {
  /** The entry module (default `cli.ts` in the checkout). */
  entry?: string;
  /** The `deno` binary to bundle with (default the running one). */
  deno?: string;
}

/**
 * Bundles the app into `outPath` (one ES module for `--platform deno`). Deterministic: the
 * same sources give the same bytes.
 *
 * @throws {Error} When `deno bundle` fails, with its output.
 */
export async function bundleApp(outPath: string, options: BundleAppOptions = {}): Promise<void> {
  const root = checkoutRoot();
  const entry = options.entry ?? `${root}/cli.ts`;
  const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--packages", "bundle", "-o", outPath, entry],
    cwd: root,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim() ||
      new TextDecoder().decode(output.stdout).trim();
    throw new Error(
      `Cannot bundle the app "${entry}": deno bundle exited with ${output.code}: ${text}`,
    );
  }
  const info = await Deno.stat(outPath).catch(() => null);
  if (info === null || info.size === 0) {
    throw new Error(
      `Cannot bundle the app "${entry}": deno bundle wrote no output to "${outPath}"`,
    );
  }
}
