/**
 * The deployment recipes without a container builder (none runs here: the docker client has
 * no daemon and no base image can be pulled): `deploy/entrypoint.sh` run as the image runs it,
 * on loopback, against a packed llamafile, also from a read-only runtime as a non-root user
 * (as under the Kubernetes manifest's `readOnlyRootFilesystem`, short of a read-only `/tmp`,
 * which the manifest mounts as an `emptyDir` anyway); and the Containerfile, the Kubernetes
 * manifest and the systemd unit checked to agree with the entrypoint and the server.
 */
import assert from "node:assert/strict";
import { ROOT, STORIES_GREEDY } from "./helpers.ts";
import {
  ENTRYPOINT,
  freePort,
  packStories,
  spawnCollecting,
  startReplica,
} from "./deploy_helpers.ts";

const dir = await Deno.makeTempDir({ prefix: "deploy_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let packed: Promise<string> | null = null;
const llamafile = () => (packed ??= packStories(dir));

/** Runs the entrypoint with `env` to its end (for the refusals). */
async function entrypointOutput(env: Record<string, string>) {
  const running = spawnCollecting(ENTRYPOINT, [], {
    LLAMAFILE: await llamafile(),
    LLAMAFILE_HOST: "127.0.0.1",
    LLAMAFILE_PORT: String(freePort()),
    XDG_CACHE_HOME: `${dir}/cache`,
    ...env,
  });
  const status = await running.status;
  return { code: status.code, stderr: running.stderr() };
}

const KEY = "deploy-test-key-0123456789";

async function models(base: string, key?: string): Promise<number> {
  const response = await fetch(`${base}/v1/models`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("entrypoint.sh refuses to start without an API key, or with an unusable key file, in one line", async () => {
  await Deno.mkdir(`${dir}/cache`, { recursive: true });
  const none = await entrypointOutput({});
  assert.equal(none.code, 2);
  assert.equal(
    none.stderr,
    "llamafile-entrypoint: No API key: set LLAMAFILE_API_KEY_FILE or LLAMAFILE_API_KEY (or LLAMAFILE_NO_API_KEY=1 to serve without one)\n",
  );
  const missing = await entrypointOutput({ LLAMAFILE_API_KEY_FILE: `${dir}/no-such-key` });
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `llamafile-entrypoint: Cannot read the API key file "${dir}/no-such-key" (LLAMAFILE_API_KEY_FILE)\n`,
  );
  await Deno.writeTextFile(`${dir}/empty-key`, "\n");
  const empty = await entrypointOutput({ LLAMAFILE_API_KEY_FILE: `${dir}/empty-key` });
  assert.equal(empty.code, 1);
  assert.match(
    empty.stderr,
    /^llamafile-entrypoint: Cannot use the API key file ".*": it is empty\n$/,
  );
  const port = await entrypointOutput({ LLAMAFILE_NO_API_KEY: "1", LLAMAFILE_PORT: "80x" });
  assert.equal(port.code, 2);
  assert.match(port.stderr, /^llamafile-entrypoint: Cannot listen on port "80x": not a number/);
});

Deno.test("entrypoint.sh with a key file (CRLF) serves the key it holds, sandboxed, and passes its arguments on", async () => {
  await Deno.writeTextFile(`${dir}/key-crlf`, `${KEY}\r\nsecond line ignored\n`);
  const replica = await startReplica(
    await llamafile(),
    `${dir}/cache`,
    { LLAMAFILE_API_KEY_FILE: `${dir}/key-crlf` },
    ["-t", "1", "-np", "3", "--alias", "from-entrypoint"],
  );
  try {
    assert.equal(await models(replica.base), 401);
    assert.equal(await models(replica.base, "second line ignored"), 401);
    const response = await fetch(`${replica.base}/v1/models`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).data[0].id, "from-entrypoint");
    const health = await (await fetch(`${replica.base}/health`)).json();
    assert.equal(health.slots_idle, 3);
    const status = await Deno.readTextFile(`/proc/${replica.pid}/status`);
    assert.match(status, /^Seccomp:\s*2$/m, "the server in the entrypoint's process is sandboxed");
    // The key left the environment: the server's own has neither variable.
    const environ = (await Deno.readTextFile(`/proc/${replica.pid}/environ`)).split("\0");
    assert.ok(!environ.some((v) => v.startsWith("LLAMAFILE_API_KEY")), environ.join(" "));
  } finally {
    assert.equal((await replica.stop()).code, 0, "SIGTERM stops it with status 0");
  }
});

Deno.test("entrypoint.sh with the key in the environment, or explicitly none", async () => {
  const keyed = await startReplica(await llamafile(), `${dir}/cache`, { LLAMAFILE_API_KEY: KEY });
  try {
    assert.equal(await models(keyed.base), 401);
    assert.equal(await models(keyed.base, KEY), 200);
    const environ = await Deno.readTextFile(`/proc/${keyed.pid}/environ`);
    assert.ok(!environ.includes(KEY), "the key is not in the server's environment");
  } finally {
    await keyed.stop();
  }
  const open = await startReplica(await llamafile(), `${dir}/cache`, { LLAMAFILE_NO_API_KEY: "1" });
  try {
    assert.equal(await models(open.base), 200);
  } finally {
    await open.stop();
  }
});

Deno.test("entrypoint.sh runs from a runtime extracted ahead (the image's RUN --version) on a read-only file system, as a non-root user", async () => {
  // What the Containerfile does at build time: extract the runtime once.
  const cache = `${dir}/image-cache`;
  await Deno.mkdir(cache);
  const path = `${dir}/image.llamafile`;
  await Deno.copyFile(await llamafile(), path);
  const version = await new Deno.Command(path, {
    args: ["--version"],
    env: { XDG_CACHE_HOME: cache },
    stdin: "null",
  }).output();
  assert.equal(version.code, 0, new TextDecoder().decode(version.stderr));
  // Then nothing is writable: the cache, the llamafile, its folder; and no other cache or
  // temporary folder it could fall back to.
  await new Deno.Command("chmod", { args: ["-R", "a-w", cache, path] }).output();
  const asUser = Deno.uid() === 0
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    : [];
  if (Deno.uid() === 0) await Deno.chmod(dir, 0o755);
  const port = freePort();
  const [command, ...args] = [...asUser, ENTRYPOINT, "-t", "1"];
  const running = spawnCollecting(command!, args, {
    LLAMAFILE: path,
    LLAMAFILE_HOST: "127.0.0.1",
    LLAMAFILE_PORT: String(port),
    LLAMAFILE_API_KEY: KEY,
    XDG_CACHE_HOME: cache,
    HOME: "/nonexistent",
    TMPDIR: "/nonexistent",
  });
  try {
    for (let i = 0;; i++) {
      const state = await fetch(`http://127.0.0.1:${port}/health`).then(
        async (r) => (await r.json()).status,
        () => "down",
      );
      if (state === "ok") break;
      const ended = await Promise.race([running.status.then(() => true), Promise.resolve(false)]);
      if (ended || i > 600) throw new Error(`not serving: ${running.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const response = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 40, temperature: 0 }),
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).choices[0].text, STORIES_GREEDY);
  } finally {
    assert.equal((await running.stop()).code, 0, running.stderr());
    await new Deno.Command("chmod", { args: ["-R", "u+w", cache, path] }).output();
  }
});

/** The value of `KEY=value` words in a Dockerfile ENV instruction, or a YAML/INI `key: value`. */
function field(text: string, re: RegExp): string {
  const match = text.match(re);
  assert.ok(match, `no ${re} in the recipe`);
  return match[1]!;
}

Deno.test("deploy/ recipes agree with the entrypoint and the server: paths, port, key file, probes, metrics", async () => {
  const containerfile = await Deno.readTextFile(`${ROOT}/deploy/Containerfile`);
  const kubernetes = await Deno.readTextFile(`${ROOT}/deploy/kubernetes.yaml`);
  const unit = await Deno.readTextFile(`${ROOT}/deploy/llamafile.service`);
  const entrypoint = await Deno.readTextFile(ENTRYPOINT);

  // Containerfile: the entrypoint it copies is the one it runs; the port it exposes is the
  // one the entrypoint is told; the user matches the manifest's.
  const copied = field(containerfile, /^COPY --chmod=0755 entrypoint\.sh (\S+)$/m);
  assert.equal(field(containerfile, /^ENTRYPOINT \["([^"]+)"\]$/m), copied);
  const port = field(containerfile, /LLAMAFILE_PORT=(\d+)/);
  assert.equal(field(containerfile, /^EXPOSE (\d+)$/m), port);
  assert.equal(field(containerfile, /LLAMAFILE_HOST=(\S+)/), "0.0.0.0");
  const installed = field(containerfile, /^COPY --chmod=0755 \$\{LLAMAFILE\} (\S+)$/m);
  assert.equal(field(containerfile, /LLAMAFILE=(\/\S+)/), installed);
  assert.match(containerfile, new RegExp(`^RUN ${installed} --version$`, "m"));
  assert.equal(field(containerfile, /^USER (\d+):/m), field(kubernetes, /runAsUser: (\d+)/));
  // The entrypoint reads the variables the recipes set.
  for (const name of ["LLAMAFILE", "LLAMAFILE_HOST", "LLAMAFILE_PORT", "LLAMAFILE_API_KEY_FILE"]) {
    assert.ok(entrypoint.includes(`\${${name}`), name);
  }

  // Kubernetes: the container port is the image's; probes ask /health on it; Prometheus is
  // pointed at /metrics on it; the key file sits where the Secret is mounted.
  assert.equal(field(kubernetes, /containerPort: (\d+)/), port);
  assert.equal(field(kubernetes, /prometheus\.io\/port: "(\d+)"/), port);
  assert.equal(field(kubernetes, /prometheus\.io\/path: (\S+)/), "/metrics");
  assert.equal(field(kubernetes, /prometheus\.io\/scrape: "(\w+)"/), "true");
  // /metrics answers 501 unless the server is started with --metrics (as llama-server's).
  assert.match(field(kubernetes, /^\s+args: \[(.*)\]$/m), /"--metrics"/);
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const block = field(kubernetes, new RegExp(`${probe}:\\n((?: {12}.*\\n)+)`));
    assert.match(block, /path: \/health\n/, probe);
    assert.match(block, /port: http\n/, probe);
  }
  const keyFile = field(kubernetes, /name: LLAMAFILE_API_KEY_FILE\n\s+value: (\S+)/);
  const mount = field(kubernetes, /mountPath: (\S+)/);
  assert.equal(keyFile, `${mount}/${field(kubernetes, /- key: api-key\n\s+path: (\S+)/)}`);
  assert.match(kubernetes, /resources:\n\s+requests:\n\s+cpu: "\d+"\n\s+memory: \w+/);
  assert.match(kubernetes, /targetPort: http/);

  // The unit runs the entrypoint where its install lines put it, with the key as a credential.
  const execStart = field(unit, /^ExecStart=(\S+)/m);
  assert.match(unit, new RegExp(`install -m 0755 deploy/entrypoint\\.sh ${execStart}\\n`));
  assert.equal(field(unit, /^LoadCredential=([\w-]+):/m), "api-key");
  assert.equal(field(unit, /^Environment=LLAMAFILE_API_KEY_FILE=(\S+)$/m), "%d/api-key");
  assert.equal(field(unit, /^Environment=LLAMAFILE=(\S+)$/m), "/opt/llamafile/model.llamafile");
});
