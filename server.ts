/**
 * llamafile's HTTP server: the OpenAI-compatible API, llama.cpp's native endpoints and the
 * chat page, on Hono (`lib/server/`). {@linkcode createApp} builds the app without listening;
 * {@linkcode runServer} listens, loads, locks down and serves.
 *
 * @module
 */
export { type AppDeps, type AppOptions, createApp } from "./lib/server/app.ts";
export {
  runServer,
  type RunServerHooks,
  type ServerExit,
  type ServerSettings,
} from "./lib/server/run_server.ts";
export { createEngine, ServerState } from "./lib/server/api/server_state.ts";
