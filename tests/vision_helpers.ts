/**
 * What the vision tests share: libmtmd built (once, cached: the first run on a clean machine
 * builds it from llama.cpp's source, a few minutes), the synthetic Gemma-3 text model with
 * `mmproj-tinygemma3.gguf`, and test images in a temp folder (a JPEG, a PNG, a PNG cut short,
 * a file that is no image).
 *
 * @module
 */
import { ensureVisionPair, type VisionPair } from "../bench/synth_vision.ts";
import { testJpegPath, testPng } from "../bench/test_images.ts";
import { ensureMtmdBuild, type MtmdBuild } from "../scripts/build_mtmd.ts";

/** The Gemma-3 chat format of one user turn, the image marker before the text. */
export function gemmaTurn(text: string, marker = "<__media__>"): string {
  return `<start_of_turn>user\n${marker}${text}<end_of_turn>\n<start_of_turn>model\n`;
}

/** The files of a vision test. */
export interface VisionFiles extends VisionPair {
  build: MtmdBuild;
  /** llama.cpp's test photo. */
  jpeg: string;
  /** A 48x32 PNG of ours. */
  png: string;
  /** The PNG cut after 150 bytes. */
  truncatedPng: string;
  /** Text named like an image. */
  notImage: string;
  /** The temp folder holding the PNGs; removed by `close()`. */
  dir: string;
  close(): Promise<void>;
}

let built: Promise<MtmdBuild> | null = null;

/** Builds what is missing (libmtmd; llama-mtmd-cli with `reference`) and writes the images. */
export async function visionFiles(options: { reference?: boolean } = {}): Promise<VisionFiles> {
  const build = options.reference
    ? await ensureMtmdBuild({ reference: true, log: (line) => console.error(`vision: ${line}`) })
    : await (built ??= ensureMtmdBuild({ log: (line) => console.error(`vision: ${line}`) }));
  const pair = await ensureVisionPair();
  const dir = await Deno.makeTempDir({ prefix: "vision_test_" });
  const png = await testPng();
  await Deno.writeFile(`${dir}/gradient.png`, png);
  await Deno.writeFile(`${dir}/truncated.png`, png.subarray(0, 150));
  await Deno.writeTextFile(`${dir}/notes.png`, "not an image, whatever its name says\n");
  return {
    ...pair,
    build,
    jpeg: testJpegPath(),
    png: `${dir}/gradient.png`,
    truncatedPng: `${dir}/truncated.png`,
    notImage: `${dir}/notes.png`,
    dir,
    close: () => Deno.remove(dir, { recursive: true }),
  };
}
