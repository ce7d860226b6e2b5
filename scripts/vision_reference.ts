/**
 * `deno task vision-reference`: our CLI's image answers against llama.cpp's own
 * `llama-mtmd-cli`, byte for byte. Builds (once, cached) libmtmd and `llama-mtmd-cli` from the
 * release's source (`scripts/build_mtmd.ts`), writes the synthetic Gemma-3 text model that
 * pairs with `mmproj-tinygemma3.gguf` (`bench/synth_vision.ts`), then for two images (llama.cpp's
 * test JPEG and a PNG of ours) and two prompts runs both at `--temp 0` and compares. Prints the
 * pair's paths (`model:` and `mmproj:` lines) and one line per comparison; exits 0 only when
 * every output is identical.
 *
 * What is compared: `llama-mtmd-cli -m M --mmproj P --image I -p TEXT` formats TEXT as a user
 * message with the model's chat template (the image marker before it) and prints the answer
 * between fixed newlines (one before, `\n\n` after, and one more when generation ended at
 * end-of-generation); our CLI gets the same formatted prompt with `-p` (the media marker where
 * llama.cpp puts it; the template rendered by our Jinja) and prints the answer alone
 * (`--no-display-prompt`). The bytes between those newlines must be the same.
 *
 * `llama-mtmd-cli` runs on the very libraries our process loads (the npm libllama and ggml CPU
 * backends, `LD_LIBRARY_PATH` and its working folder), so the comparison is of the two
 * pipelines (preprocessing, tokenization, marker placement, encoding, embedding decode,
 * sampling), not of two builds' floating-point rounding.
 *
 * @module
 */
import { ensureVisionPair, type VisionPair } from "../bench/synth_vision.ts";
import { readGguf } from "../lib/engine/gguf_reader.ts";
import { testJpegPath, testPng } from "../bench/test_images.ts";
import { libraryDir } from "../ffi/library_path.ts";
import { ChatTemplate } from "../lib/engine/chat_template.ts";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { ensureMtmdBuild } from "./build_mtmd.ts";

/** The prompts compared. */
export const REFERENCE_PROMPTS = ["Describe the image.", "What is in this picture?"] as const;

/** Tokens generated for each comparison. */
export const REFERENCE_TOKENS = 32;

/** One comparison. */
export interface ReferenceComparison {
  image: string;
  prompt: string;
  /** Our CLI's stdout (the answer). */
  ours: string;
  /** llama-mtmd-cli's answer, its framing newlines removed (as far as they are its own). */
  reference: string;
  /** llama-mtmd-cli's whole stdout. */
  referenceStdout: string;
  /** Why our generation stopped (`eog`, `length`), from our timings line. */
  stop: string;
  identical: boolean;
}

/** The images compared: llama.cpp's JPEG, and a PNG written to `dir`. */
export async function referenceImages(dir: string): Promise<string[]> {
  const png = `${dir}/gradient.png`;
  await Deno.writeFile(png, await testPng());
  return [testJpegPath(), png];
}

/** The chat-template rendering of one user message with the image marker before `text`. */
export function formattedPrompt(template: string, text: string, marker = "<__media__>"): string {
  // The model adds BOS itself: the template's BOS text is left out (bos_token "").
  return new ChatTemplate(template, "model").render(
    [{ role: "user", content: `${marker}${text}` }],
    { addGenerationPrompt: true, bosToken: "" },
  );
}

async function output(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs our CLI as a user's launch does (the CLI's permissions and sandbox). */
export async function runOurCli(args: string[]) {
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  return await output(Deno.execPath(), ["run", ...planLaunch(args).flags, cli, ...args]);
}

/**
 * Runs every comparison (building and writing what is missing) and returns them. `log` gets
 * progress lines.
 */
export async function compareWithReference(
  options: { log?: (line: string) => void; pair?: VisionPair } = {},
): Promise<{ pair: VisionPair; comparisons: ReferenceComparison[] }> {
  const log = options.log ?? (() => {});
  const build = await ensureMtmdBuild({ reference: true, log });
  const pair = options.pair ?? await ensureVisionPair();
  // The model's own template, as llama-mtmd-cli reads it.
  const template = String(
    (await readGguf(pair.model)).metadata.get("tokenizer.chat_template")?.value,
  );
  const dir = await Deno.makeTempDir({ prefix: "vision_reference_" });
  const libs = libraryDir();
  try {
    const comparisons: ReferenceComparison[] = [];
    for (const image of await referenceImages(dir)) {
      for (const prompt of REFERENCE_PROMPTS) {
        const common = ["--temp", "0", "-n", String(REFERENCE_TOKENS), "-t", "1"];
        const ref = await output(build.referenceCli!, [
          "-m",
          pair.model,
          "--mmproj",
          pair.mmproj,
          "--image",
          image,
          "-p",
          prompt,
          ...common,
        ], { cwd: libs, env: { LD_LIBRARY_PATH: libs } });
        if (ref.code !== 0) {
          throw new Error(
            `Cannot run llama-mtmd-cli: exit code ${ref.code}\n${
              ref.stderr.trim().split("\n").slice(-5).join("\n")
            }`,
          );
        }
        const ours = await runOurCli([
          "-m",
          pair.model,
          "--mmproj",
          pair.mmproj,
          "--image",
          image,
          "-p",
          formattedPrompt(template, prompt),
          "--no-display-prompt",
          ...common,
        ]);
        if (ours.code !== 0) {
          throw new Error(`Cannot run our CLI: exit code ${ours.code}: ${ours.stderr.trim()}`);
        }
        const stop = /stop: (\w+)/.exec(ours.stderr)?.[1] ?? "unknown";
        const expected = `\n${ours.stdout}${stop === "eog" ? "\n" : ""}\n\n`;
        const framed = ref.stdout.startsWith("\n") && ref.stdout.endsWith("\n\n");
        const reference = framed
          ? ref.stdout.slice(1, ref.stdout.length - (stop === "eog" ? 3 : 2))
          : ref.stdout;
        comparisons.push({
          image,
          prompt,
          ours: ours.stdout,
          reference,
          referenceStdout: ref.stdout,
          stop,
          identical: ref.stdout === expected,
        });
      }
    }
    return { pair, comparisons };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const log = (line: string) => console.error(`vision-reference: ${line}`);
  log("building libmtmd and llama-mtmd-cli if needed (once: about 5 CPU-minutes)");
  let result;
  try {
    result = await compareWithReference({ log });
  } catch (error) {
    log((error as Error).message);
    Deno.exit(1);
  }
  console.log(`model: ${result.pair.model}`);
  console.log(`mmproj: ${result.pair.mmproj}`);
  for (const c of result.comparisons) {
    const name = c.image.split("/").pop();
    const verdict = c.identical ? "identical" : "DIFFERENT";
    console.log(
      `${verdict}: ${name} ${JSON.stringify(c.prompt)}: ${c.ours.length} bytes (stop: ${c.stop})${
        c.identical
          ? ""
          : `\n  ours:      ${JSON.stringify(c.ours)}\n  reference: ${
            JSON.stringify(c.referenceStdout)
          }`
      }`,
    );
  }
  const same = result.comparisons.filter((c) => c.identical).length;
  console.log(`${same} of ${result.comparisons.length} identical`);
  Deno.exit(same === result.comparisons.length ? 0 : 1);
}
