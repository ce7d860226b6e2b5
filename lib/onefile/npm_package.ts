/**
 * The files of a pinned npm package (a runtime for another platform): from the checkout's
 * `node_modules` when `npm ci` put it there, else from a cache folder, else fetched once with
 * `npm pack` (npm's own client and registry settings), checked against the pinned `sha512`
 * integrity, and unpacked with `tar` into the cache.
 *
 * The cache is `${XDG_CACHE_HOME:-$HOME/.cache}/llamafile/npm/<scope>+<name>@<version>/`.
 *
 * @module
 */
import { createHash } from "../util/node_hash.ts";
import { checkoutRoot } from "./app_bundle.ts";
import type { NpmPackage } from "./platforms.ts";

/** The folder fetched packages are kept in. */
export function npmCacheDir(): string {
  let base: string | undefined;
  try {
    const xdg = Deno.env.get("XDG_CACHE_HOME");
    const home = Deno.env.get("HOME");
    base = xdg?.startsWith("/") ? xdg : home?.startsWith("/") ? `${home}/.cache` : undefined;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  if (base === undefined) {
    throw new Error(
      "Cannot find a cache folder for npm packages: neither XDG_CACHE_HOME nor HOME is an absolute path",
    );
  }
  return `${base.replace(/\/+$/, "")}/llamafile/npm`;
}

/** `name@version`, for messages. */
function _label(pkg: NpmPackage): string {
  return `${pkg.name}@${pkg.version}`;
}

/** The `sha512-<base64>` integrity of the file at `path`. */
export async function fileIntegrity(path: string): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const hash = await createHash("sha512");
  for await (const chunk of file.readable) hash.update(chunk);
  return `sha512-${hash.digest("base64")}`;
}

/**
 * Checks that the tarball at `path` has the integrity pinned for `pkg`.
 *
 * @throws {Error} When it does not.
 */
export async function checkIntegrity(path: string, pkg: NpmPackage): Promise<void> {
  const actual = await fileIntegrity(path);
  if (actual !== pkg.integrity) {
    throw new Error(
      `Cannot use ${
        _label(pkg)
      }: the tarball's integrity ${actual} is not the pinned ${pkg.integrity}`,
    );
  }
}

async function _installedVersion(dir: string): Promise<string | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/package.json`)).version ?? null;
  } catch {
    return null;
  }
}

async function _run(command: string, args: string[], cwd: string, what: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false" },
    }).output();
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot ${what}: the ${command} command is not on PATH`, { cause });
    }
    throw cause;
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim().split("\n").filter(Boolean);
    throw new Error(
      `Cannot ${what}: ${command} exited with ${output.code}${
        text.length ? `: ${text.at(-1)}` : ""
      }`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

/**
 * The folder holding the files of `pkg` (its `package.json` at the top).
 *
 * @param options.nodeModules Where `npm ci` installs (default: the checkout's `node_modules`).
 * @param options.cacheDir The cache (default {@linkcode npmCacheDir}).
 * @throws {Error} When it can neither be found nor fetched, or fails its integrity check.
 */
export async function npmPackageDir(
  pkg: NpmPackage,
  options: { nodeModules?: string; cacheDir?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const installed = `${options.nodeModules ?? `${checkoutRoot()}/node_modules`}/${pkg.name}`;
  if (await _installedVersion(installed) === pkg.version) return installed;

  const cache = options.cacheDir ?? npmCacheDir();
  const folder = `${cache}/${pkg.name.replace(/^@/, "").replace("/", "+")}@${pkg.version}`;
  const marker = `${folder}/.integrity`;
  const cached = await Deno.readTextFile(marker).catch(() => null);
  if (cached?.trim() === pkg.integrity) return `${folder}/package`;

  const what = `fetch ${_label(pkg)}`;
  options.log?.(`llamafile pack: fetching ${_label(pkg)} with npm pack`);
  await Deno.mkdir(cache, { recursive: true });
  const work = await Deno.makeTempDir({ dir: cache, prefix: ".fetch-" });
  try {
    const listing = await _run(
      "npm",
      ["pack", _label(pkg), "--json", "--pack-destination", work],
      work,
      what,
    );
    let filename: string;
    try {
      filename = JSON.parse(listing)[0].filename;
    } catch (cause) {
      throw new Error(`Cannot ${what}: npm pack printed no file name`, { cause });
    }
    const tarball = `${work}/${filename.split("/").at(-1)}`;
    await checkIntegrity(tarball, pkg);
    await Deno.mkdir(`${work}/x`);
    await _run("tar", ["-xzf", tarball, "-C", `${work}/x`, "--no-same-owner"], work, what);
    if (await _installedVersion(`${work}/x/package`) !== pkg.version) {
      throw new Error(`Cannot ${what}: the tarball holds no package.json of that version`);
    }
    await Deno.writeTextFile(`${work}/x/.integrity`, `${pkg.integrity}\n`);
    await Deno.remove(folder, { recursive: true }).catch(() => {});
    try {
      await Deno.rename(`${work}/x`, folder);
    } catch (error) {
      // Another pack fetched it at the same time: keep theirs if it is complete.
      if ((await Deno.readTextFile(marker).catch(() => ""))?.trim() !== pkg.integrity) throw error;
    }
    return `${folder}/package`;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
