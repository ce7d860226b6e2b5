/**
 * Images in requests: the server's media marker (where a prompt puts an image), `data:` URIs
 * and base64 decoded with bounds, and the images of a request read by the projector, each
 * refusal a 400 naming the field. The server has no network, so a remote URL is refused too.
 *
 * @module
 */
import { MAX_IMAGE_BYTES } from "../../engine/image_check.ts";
import {
  buildMediaPrompt,
  type MediaPrompt,
  type MediaPromptOptions,
} from "../../engine/media_prompt.ts";
import type { Projector, ProjectorImage } from "../../engine/projector.ts";
import { ProjectorError } from "../../engine/projector_error.ts";
import { invalidRequest } from "./errors.ts";
import type { Engine } from "./server_state.ts";

/**
 * The server's media marker: random for each process, as llama-server's is, so that text in
 * a request does not turn into an image slot by chance; `/props` tells it to raw-prompt
 * clients (`/completion` with `multimodal_data`).
 */
export const MEDIA_MARKER = `<__media_${
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0"))
    .join("")
}__>`;

/** The base64 characters of an image at most {@linkcode MAX_IMAGE_BYTES} long, padding included. */
const MAX_BASE64_CHARS = Math.ceil(MAX_IMAGE_BYTES / 3) * 4;

/**
 * Decodes standard base64 (whitespace allowed, as MIME and some clients wrap it).
 *
 * @throws {ApiError} 400 when it is not base64, or decodes to more than an image may be.
 */
export function decodeBase64(text: string, param: string): Uint8Array {
  const compact = /\s/.test(text) ? text.replace(/\s+/g, "") : text;
  if (compact.length > MAX_BASE64_CHARS + 4) {
    throw invalidRequest(
      `${param} is about ${
        Math.floor((compact.length * 3) / 4)
      } bytes of data: the largest image taken is ${MAX_IMAGE_BYTES} bytes`,
      param,
    );
  }
  if (compact === "" || compact.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw invalidRequest(`${param} is not base64 data`, param);
  }
  try {
    const binary = atob(compact);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch (cause) {
    throw invalidRequest(`${param} is not base64 data: ${(cause as Error).message}`, param);
  }
}

/**
 * The bytes of an `image_url` URL: a `data:image/...;base64,` URI (llama.cpp also takes raw
 * base64, and so do we).
 *
 * @throws {ApiError} 400 for a remote or `file:` URL (the server has no network and reads no
 * files), another media type, a URI that is not base64, or an image too large.
 */
export function imageUrlBytes(url: string, param: string): Uint8Array {
  if (/^https?:\/\//i.test(url)) {
    throw invalidRequest(
      `${param} is a remote URL: this server has no network access (it is sandboxed); send the image as a data: URI (data:image/png;base64,...)`,
      param,
    );
  }
  if (/^file:/i.test(url)) {
    throw invalidRequest(
      `${param} is a file: URL: this server reads no files for requests; send the image as a data: URI`,
      param,
    );
  }
  if (!/^data:/i.test(url)) return decodeBase64(url, param);
  const comma = url.indexOf(",");
  if (comma < 0) throw invalidRequest(`${param} is a data: URI without data`, param);
  const header = url.slice(5, comma).toLowerCase();
  if (!header.startsWith("image/")) {
    throw invalidRequest(
      `${param} is a data: URI of ${
        JSON.stringify(header.split(";")[0] || "text/plain")
      }: only images (image/...) are taken`,
      param,
    );
  }
  if (!header.split(";").includes("base64")) {
    throw invalidRequest(`${param} is a data: URI that is not base64 (;base64, is missing)`, param);
  }
  return decodeBase64(url.slice(comma + 1), param);
}

/** The projector of `engine`, or the 400 that says none is loaded. */
export function requireProjector(engine: Engine, param: string) {
  if (engine.projector === null) {
    throw invalidRequest(
      `${param}: image input is not supported: this server was started without a projector (--mmproj)`,
      param,
    );
  }
  return engine.projector;
}

/**
 * Decodes the images of a request (their bytes, each named by its field), in order. On a
 * failure the ones already decoded are freed.
 *
 * @throws {ApiError} 400 naming the field of an image that is not one, or is corrupt.
 */
async function readRequestImages(
  projector: Projector,
  images: readonly { bytes: Uint8Array; param: string }[],
): Promise<ProjectorImage[]> {
  const out: ProjectorImage[] = [];
  try {
    for (const image of images) {
      try {
        out.push(await projector.readImage(image.bytes, image.param));
      } catch (cause) {
        if (cause instanceof ProjectorError) throw invalidRequest(cause.message, image.param);
        throw cause;
      }
    }
  } catch (error) {
    for (const image of out) image.close();
    throw error;
  }
  return out;
}

/**
 * The prompt of llama.cpp's `{"prompt_string", "multimodal_data"}`: the text split at the
 * server's media markers, each base64 file decoded into an image there, tokenized as a raw
 * prompt is (BOS first, special tokens parsed).
 *
 * @throws {ApiError} 400 when there is no projector, a file is not base64 or no image, or the
 * markers and the files differ in number.
 */
export async function multimodalPrompt(
  engine: Engine,
  text: string,
  data: readonly string[],
  param = "prompt",
): Promise<MediaPrompt> {
  const projector = requireProjector(engine, `${param}.multimodal_data`);
  const files = data.map((item, i) => {
    const at = `${param}.multimodal_data[${i}]`;
    return { bytes: decodeBase64(item, at), param: at };
  });
  const segments = text.split(MEDIA_MARKER);
  if (segments.length - 1 !== files.length) {
    throw invalidRequest(
      `${param}.prompt_string has ${
        segments.length - 1
      } media markers and ${param}.multimodal_data holds ${files.length} files: put the server's marker (GET /props: media_marker) where each goes`,
      `${param}.prompt_string`,
    );
  }
  return await promptWithImages(projector, segments, files, {
    addSpecial: true,
    parseSpecial: true,
  });
}

/**
 * One prompt of `segments` (text, or tokens) with the images of `files` between them, in order
 * (one fewer image than segments), through `projector` (the one `requireProjector` gave); the
 * decoded images are freed once the prompt is built.
 */
export async function promptWithImages(
  projector: Projector,
  segments: readonly (string | readonly number[])[],
  files: readonly { bytes: Uint8Array; param: string }[],
  options: MediaPromptOptions,
): Promise<MediaPrompt> {
  const images = await readRequestImages(projector, files);
  try {
    const parts = segments.flatMap((segment, i) =>
      i < images.length ? [segment, images[i]!] : [segment]
    ).filter((part) => part !== "");
    return await buildMediaPrompt(projector, parts, options);
  } finally {
    for (const image of images) image.close();
  }
}
