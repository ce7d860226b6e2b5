/**
 * The Deno directory a sandboxed run uses. Deno keeps three SQLite caches open for writing for
 * the whole life of a process (dependency analysis, CommonJS analysis, the V8 code cache, each
 * with its `-wal` and `-shm`): a compromised process could use those handles to poison what
 * the next start runs before its sandbox (the V8 code cache is compiled code). In a Deno
 * directory where those three names are folders, SQLite cannot open them and Deno falls back to
 * caches in memory, so the process holds no writable handle; the transpile cache (`gen/`),
 * written and closed file by file, still works.
 *
 * @module
 */

/** Deno's SQLite caches, made unopenable in a sandboxed run's Deno directory. */
export const BLOCKED_DENO_CACHES: readonly string[] = [
  "dep_analysis_cache_v2",
  "node_analysis_cache_v2",
  "v8_code_cache_v2",
];

/**
 * Creates `dir` (if needed) as a Deno directory without the SQLite caches: each of
 * {@linkcode BLOCKED_DENO_CACHES} a folder. A database file of that name already there is
 * removed first.
 */
export function prepareSandboxDenoDir(dir: string): void {
  for (const name of BLOCKED_DENO_CACHES) {
    const path = `${dir}/${name}`;
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (info !== null && !info.isDirectory) {
      for (const suffix of ["", "-wal", "-shm"]) Deno.removeSync(`${path}${suffix}`, {});
    }
    Deno.mkdirSync(path, { recursive: true });
  }
}
