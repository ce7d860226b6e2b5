/**
 * `POST /slots/{id}?action=save|restore|erase` (llama.cpp's slot actions): save a slot's
 * tokens and KV cache to a file of `--slot-save-path` (by name: `{"filename": "x.bin"}`),
 * restore one into a slot, or empty a slot's cache. An action waits for its slot to be idle.
 * The files are llama.cpp's (`llama_state_seq_save_file` with its server's packed token list),
 * so they move between llamafile and llama-server. Without `--slot-save-path` every action
 * answers 501, as llama.cpp's.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { AppEnv } from "../api/app_env.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";
import { isObject, kind } from "../api/validate.ts";
import type { ServerState } from "../api/server_state.ts";
import { validateSlotFilename } from "../api/slot_files.ts";
import { SlotIdError } from "../../engine/slots.ts";
import {
  decodeSequenceFile,
  encodeSequenceFile,
  SequenceFileError,
} from "../../engine/state_file.ts";

function slotId(raw: string, count: number): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) >= count) {
    throw invalidRequest(`Invalid slot id "${raw}": this server has slots 0 to ${count - 1}`);
  }
  return Number(raw);
}

/** The body as a JSON object; an empty body is `{}` (erase takes none). */
function optionalObjectBody(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidRequest(`Cannot parse the request body as JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) {
    throw invalidRequest(`The request body must be a JSON object, got ${kind(value)}`);
  }
  return value;
}

/** The handlers of `POST /slots/{id}`. */
export function slotAction(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(async function slotAction(c) {
    const engine = state.engine();
    const scheduler = engine.scheduler;
    const id = slotId(c.req.param("id") ?? "", scheduler.slotCount);
    const action = c.req.query("action") ?? "";
    const files = state.config.slotFiles ?? null;
    const body = optionalObjectBody(await c.req.text());
    try {
      if (files === null) {
        throw new ApiError(
          "not_supported_error",
          "This server does not support slot actions: start it with --slot-save-path",
        );
      }
      if (action === "erase") {
        const erased = await scheduler.eraseSlot(id);
        return c.json({ id_slot: id, n_erased: erased });
      }
      if (action !== "save" && action !== "restore") {
        throw invalidRequest(`Invalid action "${action}": use save, restore or erase`, "action");
      }
      const filename = validateSlotFilename(body.filename);
      const started = performance.now();
      if (action === "save") {
        const { tokens, state: kv } = await scheduler.saveSlot(id);
        const written = await files.write(filename, encodeSequenceFile(tokens, kv));
        return c.json({
          id_slot: id,
          filename,
          n_saved: tokens.length,
          n_written: written,
          timings: { save_ms: performance.now() - started },
        });
      }
      const bytes = await files.read(filename);
      let decoded;
      try {
        decoded = decodeSequenceFile(bytes);
      } catch (error) {
        if (!(error instanceof SequenceFileError)) throw error;
        await scheduler.eraseSlot(id);
        throw invalidRequest(`Unable to restore slot: ${error.message}`, "filename");
      }
      const restored = await scheduler.restoreSlot(id, decoded.tokens, decoded.state).catch(
        (error) => {
          throw invalidRequest(`Unable to restore slot: ${(error as Error).message}`, "filename");
        },
      );
      return c.json({
        id_slot: id,
        filename,
        n_restored: restored,
        n_read: bytes.length,
        timings: { restore_ms: performance.now() - started },
      });
    } catch (error) {
      if (error instanceof SlotIdError) throw invalidRequest(error.message);
      throw error;
    }
  });
}
