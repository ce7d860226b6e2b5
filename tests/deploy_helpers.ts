/**
 * What the deployment tests share: a packed stories260K llamafile, replicas started through
 * `deploy/entrypoint.sh` (as the image and the systemd unit start them, but on loopback), and
 * Debian's nginx run with `deploy/nginx.conf` pointed at them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ROOT, STORIES, taskArgs } from "./helpers.ts";

export const ENTRYPOINT = `${ROOT}/deploy/entrypoint.sh`;
export const NGINX_CONF = `${ROOT}/deploy/nginx.conf`;

const decoder = new TextDecoder();

/** A free TCP port on 127.0.0.1 (closed again: a small race, fine on a test machine). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Packs stories260K into `dir/s.llamafile` (through `deno task llamafile pack`). */
export async function packStories(dir: string): Promise<string> {
  const path = `${dir}/s.llamafile`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(["pack", "-m", STORIES, "-o", path]),
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  return path;
}

/** A running child whose stderr is collected. */
export interface Running {
  pid: number;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Sends `signal` (SIGTERM by default) and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  status: Promise<Deno.CommandStatus>;
}

/** Spawns `command args` with stdout and stdin closed, collecting stderr. */
export function spawnCollecting(
  command: string,
  args: string[],
  env: Record<string, string>,
): Running {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1", ...env },
  }).spawn();
  let text = "";
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const status = child.status.then(async (s) => {
    await drained;
    return s;
  });
  return {
    pid: child.pid,
    stderr: () => text,
    status,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      return await status;
    },
  };
}

/** A replica: the entrypoint script running the llamafile as the server. */
export interface Replica extends Running {
  port: number;
  base: string;
}

/**
 * Starts `deploy/entrypoint.sh` on `llamafile` at 127.0.0.1:`port` with `env` (the API key
 * variables) and `args` passed through; resolves once `/health` says ok.
 */
export async function startReplica(
  llamafile: string,
  cache: string,
  env: Record<string, string>,
  args: string[] = ["-t", "1", "-np", "2", "-c", "1024"],
): Promise<Replica> {
  const port = freePort();
  const running = spawnCollecting(ENTRYPOINT, args, {
    LLAMAFILE: llamafile,
    LLAMAFILE_HOST: "127.0.0.1",
    LLAMAFILE_PORT: String(port),
    XDG_CACHE_HOME: cache,
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  const ended = running.status.then(() => "ended" as const);
  for (let i = 0;; i++) {
    const health = fetch(`${base}/health`).then(
      async (r) => (await r.json()).status as string,
      () => "down",
    );
    const state = await Promise.race([health, ended]);
    if (state === "ok") break;
    if (state === "ended") {
      throw new Error(`replica on ${port} exited: ${running.stderr()}`);
    }
    if (i > 600) {
      await running.stop("SIGKILL");
      throw new Error(`replica on ${port} not healthy in 30 s: ${running.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ...running, port, base };
}

/** nginx running `deploy/nginx.conf` in front of `upstreams`, listening on 127.0.0.1. */
export interface Balancer extends Running {
  port: number;
  base: string;
  /** The access log: `msec|status|upstream_addr|upstream_status` per request. */
  accessLog(): Promise<string[]>;
}

/**
 * Starts Debian's nginx (`nginx -p DIR -c DIR/nginx.conf`, in the foreground) with the
 * shipped `deploy/nginx.conf`, its two example replica addresses replaced by `upstreams` and
 * its `listen 80` by a loopback port.
 */
export async function startNginx(dir: string, upstreams: readonly number[]): Promise<Balancer> {
  let site = await Deno.readTextFile(NGINX_CONF);
  const replace = (from: string, to: string) => {
    assert.equal(site.split(from).length, 2, `deploy/nginx.conf has one "${from}"`);
    site = site.replace(from, to);
  };
  const port = freePort();
  assert.equal(upstreams.length, 2);
  replace("server 10.0.0.11:8080", `server 127.0.0.1:${upstreams[0]}`);
  replace("server 10.0.0.12:8080", `server 127.0.0.1:${upstreams[1]}`);
  replace("listen 80;", `listen 127.0.0.1:${port};`);
  const root = `${dir}/nginx`;
  await Deno.mkdir(root, { recursive: true });
  // Workers run as nobody when nginx starts as root: they need to reach their temp folders.
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(root, 0o755);
  const temps = ["body", "proxy", "fastcgi", "uwsgi", "scgi"];
  for (const name of temps) {
    await Deno.mkdir(`${root}/${name}`, { recursive: true });
    await Deno.chmod(`${root}/${name}`, 0o777);
  }
  await Deno.writeTextFile(`${root}/llamafile.conf`, site);
  await Deno.writeTextFile(
    `${root}/nginx.conf`,
    [
      Deno.uid() === 0 ? "user nobody nogroup;" : "",
      "worker_processes 1;",
      `pid ${root}/nginx.pid;`,
      "error_log stderr warn;",
      "events { worker_connections 1024; }",
      "http {",
      "  log_format lb '$msec|$status|$upstream_addr|$upstream_status';",
      `  access_log ${root}/access.log lb;`,
      // Tells the test which replica answers (the shipped file sets no header of its own).
      "  add_header X-Upstream $upstream_addr always;",
      ...temps.map((name) => `  ${name}_temp_path ${root}/${name};`).map((line) =>
        line.replace("body_temp_path", "client_body_temp_path")
      ),
      `  include ${root}/llamafile.conf;`,
      "}",
      "",
    ].join("\n"),
  );
  const running = spawnCollecting("nginx", [
    "-p",
    root,
    "-c",
    `${root}/nginx.conf`,
    "-g",
    "daemon off;",
  ], {});
  const ended = running.status.then(() => "ended" as const);
  for (let i = 0;; i++) {
    const up = Deno.connect({ hostname: "127.0.0.1", port }).then((c) => {
      c.close();
      return "up" as const;
    }, () => "down" as const);
    const state = await Promise.race([up, ended]);
    if (state === "up") break;
    if (state === "ended") throw new Error(`nginx exited: ${running.stderr()}`);
    if (i > 200) {
      await running.stop("SIGKILL");
      throw new Error(`nginx did not listen: ${running.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    ...running,
    port,
    base: `http://127.0.0.1:${port}`,
    accessLog: async () =>
      (await Deno.readTextFile(`${root}/access.log`)).split("\n").filter((l) => l !== ""),
    // nginx stops at once on SIGTERM and gracefully on SIGQUIT.
    stop: (signal: Deno.Signal = "SIGQUIT") => running.stop(signal),
  };
}
