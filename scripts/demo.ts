/**
 * `deno task demo`, the README's main job: pack a model (`$LLAMAFILE_MODEL`, else
 * `../shared/models/stories260K.gguf`) with an `.args` into `dist/<name>.llamafile`, then run
 * that one file from another folder on a prompt and print what it writes.
 *
 * @module
 */
import { checkoutRoot } from "../lib/onefile/app_bundle.ts";
import { createLlamafile, parsePackArgs } from "../lib/cli/pack_command.ts";

/** The default arguments stored in the demo llamafile. */
export const DEMO_ARGS = `# Defaults of the demo llamafile; the user's arguments go at "...".
-n 40
--temp 0
-t 1
--no-display-prompt
...
`;

/** The prompt the demo runs. */
export const DEMO_PROMPT = "Once upon a time";

/** Packs the model and runs the llamafile; returns its exit code. */
export async function demo(): Promise<number> {
  const root = checkoutRoot();
  const model = Deno.env.get("LLAMAFILE_MODEL") || `${root}/../shared/models/stories260K.gguf`;
  const name = (model.split("/").at(-1) ?? "model").replace(/\.gguf$/i, "");
  await Deno.mkdir(`${root}/dist`, { recursive: true });
  const output = `${root}/dist/${name}.llamafile`;
  await Deno.writeTextFile(`${root}/dist/demo.args`, DEMO_ARGS);

  const argv = ["-m", model, "--args", `${root}/dist/demo.args`, "-o", output];
  console.log(`$ deno task llamafile pack ${argv.join(" ")}`);
  const request = parsePackArgs(argv);
  if (request.kind !== "create") {
    throw new Error("Cannot run the demo: pack read no create request");
  }
  const packed = await createLlamafile(request, { log: (line) => console.log(line) });

  const elsewhere = await Deno.makeTempDir({ prefix: "llamafile-demo-" });
  try {
    console.log(`\n$ cd ${elsewhere} && ${output} -p '${DEMO_PROMPT}'`);
    const start = performance.now();
    const run = await new Deno.Command(output, {
      args: ["-p", DEMO_PROMPT],
      cwd: elsewhere,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const ms = performance.now() - start;
    const text = new TextDecoder().decode(run.stdout);
    console.log(DEMO_PROMPT + text);
    const stderr = new TextDecoder().decode(run.stderr).trimEnd();
    if (stderr) console.error(stderr);
    console.log(
      `\n(${packed.size} bytes in one file; ran in ${ms.toFixed(0)} ms; the runtime is cached in ` +
        `\${XDG_CACHE_HOME:-~/.cache}/llamafile/${
          [...packed.runtimeHashes.values()].join(",")
        }/, the weights are read in place)`,
    );
    return run.code;
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(await demo());
}
