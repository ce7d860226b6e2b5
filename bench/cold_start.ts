/**
 * Cold start: wall time from exec to exit of a one-token completion, for a packed stories260K
 * llamafile (first run, which extracts the runtime, and warm runs) and for native
 * llama-completion on the same model.
 *
 * @module
 */

/** Inputs of {@linkcode measureColdStart}. */
export interface ColdStartOptions {
  root: string;
  completion: string;
  rounds: number;
}

/** Medians in milliseconds. */
export interface ColdStartResult {
  oursFirstMs: number;
  oursWarmMs: number;
  nativeMs: number;
}

async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!out.success) {
    throw new Error(
      `${cmd} exited ${out.code}: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`,
    );
  }
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Packs stories260K and times first and warm starts against native, interleaved. */
export async function measureColdStart(o: ColdStartOptions): Promise<ColdStartResult> {
  const model = `${o.root}/../shared/models/stories260K.gguf`;
  const dir = await Deno.makeTempDir({ prefix: "llamafile-bench-" });
  try {
    const args = `${dir}/args`;
    await Deno.writeTextFile(args, "-n 1 --temp 0 -t 1 --no-display-prompt --log-disable\n...\n");
    const file = `${dir}/s.llamafile`;
    const pack = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-all",
        `${o.root}/cli.ts`,
        "pack",
        "-m",
        model,
        "--args",
        args,
        "-o",
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!pack.success) {
      throw new Error(
        `packing failed: ${new TextDecoder().decode(pack.stderr).trim().split("\n").pop()}`,
      );
    }
    const first: number[] = [];
    const warm: number[] = [];
    const native: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      const cache = `${dir}/cache-${i}`;
      first.push(await timed(file, ["-p", "Once upon a time"], { XDG_CACHE_HOME: cache }));
      warm.push(await timed(file, ["-p", "Once upon a time"], { XDG_CACHE_HOME: cache }));
      native.push(
        await timed(o.completion, [
          "-m",
          model,
          "-p",
          "Once upon a time",
          "-n",
          "1",
          "-t",
          "1",
          "--temp",
          "0",
          "-no-cnv",
        ]),
      );
    }
    return { oursFirstMs: median(first), oursWarmMs: median(warm), nativeMs: median(native) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
