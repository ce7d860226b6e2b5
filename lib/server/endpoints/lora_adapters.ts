/**
 * `GET /lora-adapters`: the LoRA adapters loaded at start (`--lora`, `--lora-scaled`) with
 * their current scales; `POST /lora-adapters` with `[{"id": 0, "scale": 0.5}, ...]` sets the
 * scales requests get unless they name theirs (`lora` in a completion request). No file is
 * opened: adapters are loaded before the sandbox.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { Handler } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import { invalidRequest } from "../api/errors.ts";
import { LORA_REQUEST, loraScales } from "../api/generation_params.ts";
import type { ServerState } from "../api/server_state.ts";
import { parseField } from "../api/validate.ts";

/** The handler of `GET /lora-adapters`. */
export function getLoraAdapters(state: ServerState): Handler<AppEnv> {
  return function getLoraAdapters(c) {
    const engine = state.engine();
    const scales = engine.scheduler.loraScales;
    return c.json(engine.lora.list.map((a) => ({
      id: a.id,
      path: a.path,
      scale: scales[a.id] ?? a.scale,
      task_name: a.taskName,
      prompt_prefix: a.promptPrefix,
    })));
  };
}

/** The handlers of `POST /lora-adapters`. */
export function postLoraAdapters(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(async function postLoraAdapters(c) {
    const engine = state.engine();
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (error) {
      throw invalidRequest(`Cannot parse the request body as JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(body)) {
      throw invalidRequest("The request body must be an array of {id, scale}");
    }
    const entries = parseField(LORA_REQUEST, body, "body") as z.output<typeof LORA_REQUEST>;
    engine.scheduler.loraScales = loraScales(entries, engine.scheduler.loraScales);
    return c.json({ success: true });
  });
}
