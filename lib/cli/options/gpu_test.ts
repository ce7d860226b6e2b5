import assert from "node:assert/strict";
import { parseCliArgs, UsageError } from "../options.ts";

Deno.test("parseCliArgs() reads the GPU flags as llama.cpp and llamafile spell them", () => {
  const o = parseCliArgs([
    "-ngl",
    "999",
    "--gpu",
    "NVIDIA",
    "-sm",
    "row",
    "-ts",
    "3,1",
    "-mg",
    "1",
    "-dev",
    "CUDA0,CUDA1",
    "-fa",
    "on",
    "-nkvo",
    "-ot",
    "ffn_.*=CPU,attn=CUDA0",
    "--override-tensor",
    "x=CUDA1",
  ]);
  assert.equal(o.gpuLayers, 999);
  assert.equal(o.gpu, "nvidia");
  assert.equal(o.splitMode, "row");
  assert.deepEqual(o.tensorSplit, [3, 1]);
  assert.equal(o.mainGpu, 1);
  assert.deepEqual(o.devices, ["CUDA0", "CUDA1"]);
  assert.equal(o.flashAttention, true);
  assert.equal(o.offloadKqv, false);
  assert.deepEqual(o.overrideTensors, [
    { pattern: "ffn_.*", buffer: "CPU" },
    { pattern: "attn", buffer: "CUDA0" },
    { pattern: "x", buffer: "CUDA1" },
  ]);
});

Deno.test("parseCliArgs() GPU defaults: no offload, --gpu auto, KV offload on, flash attention auto", () => {
  const o = parseCliArgs([]);
  assert.equal(o.gpuLayers, undefined);
  assert.equal(o.gpu, "auto");
  assert.equal(o.offloadKqv, true);
  assert.equal(o.flashAttention, undefined);
  assert.equal(o.listDevices, false);
  assert.deepEqual(o.overrideTensors, []);
  assert.equal(parseCliArgs(["-ngl", "auto"]).gpuLayers, "auto");
  assert.equal(parseCliArgs(["--n-gpu-layers=all"]).gpuLayers, "all");
  assert.equal(parseCliArgs(["-fa", "auto"]).flashAttention, undefined);
  assert.equal(parseCliArgs(["-fa", "off"]).flashAttention, false);
  assert.deepEqual(parseCliArgs(["-ts", "1/2/1"]).tensorSplit, [1, 2, 1]);
  assert.deepEqual(parseCliArgs(["-dev", "none"]).devices, ["none"]);
});

Deno.test("parseCliArgs() refuses bad GPU values with one clear line", () => {
  const bad: [string[], RegExp][] = [
    [["-ngl", "-1"], /Invalid value "-1" for -ngl: expected a number of layers, auto or all/],
    [["-ngl", "lots"], /expected a number of layers/],
    [["--gpu", "apple"], /for --gpu: must be one of auto, nvidia, amd, vulkan, disable/],
    [["-sm", "diagonal"], /for -sm: must be one of none, layer, row, tensor/],
    [["-ts", "3,x"], /expected proportions/],
    [["-ts", "-1"], /expected proportions/],
    [["-mg", "-1"], /must be at least 0/],
    [["-dev", "none,CUDA0"], /none cannot be combined/],
    [["-fa", "maybe"], /for -fa: must be one of on, off, auto/],
    [["-ot", "ffn"], /expected TENSOR_PATTERN=BUFFER_TYPE/],
    [["-ot", "(=CPU"], /is not a regular expression/],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parseCliArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, message);
      assert.equal(e.message.includes("\n"), false);
      return true;
    });
  }
});
