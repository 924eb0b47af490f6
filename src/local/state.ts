/** The local state folder: emulator data, checkpoints and the endpoints file. */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";

/** @default `.ticklake` under the current directory, or TICKLAKE_STATE_DIR. */
export function stateDirFrom(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return resolve(cwd, env.TICKLAKE_STATE_DIR ?? ".ticklake");
}

export const Endpoints = z.object({
  kinesis: z.url(),
  sqs: z.url(),
  sns: z.url(),
  s3: z.url(),
  region: z.string(),
  pid: z.int(),
});
export type Endpoints = z.infer<typeof Endpoints>;

export const ENDPOINTS_FILE = "endpoints.json";

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Reads the endpoints written by a running `ticklake up`, or says how to get them. */
export async function readEndpoints(stateDir: string): Promise<Endpoints> {
  const path = join(stateDir, ENDPOINTS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConfigError(`No local endpoints at ${path}: start the pipeline with \`npm start\` first`);
  }
  const result = Endpoints.safeParse(JSON.parse(text));
  if (!result.success)
    throw new ConfigError(`${path} is not a ticklake endpoints file: ${result.error.message}`);
  return result.data;
}
