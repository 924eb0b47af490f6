/** A local pipeline on the real emulators, in a temporary state folder, for end-to-end tests. */
import type { ResourceSpec } from "../../src/core/spec.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { LocalPipeline } from "../../src/local/pipeline.ts";
import { lakeEnvelopes } from "./duckdb.ts";
import { emulatorsIn, getBytes, listKeys, tempStateDir } from "./local-aws.ts";

export class LocalRun {
  readonly dir: string;
  readonly spec: ResourceSpec;
  readonly #remove: () => Promise<void>;
  emulators!: RunningEmulators;
  pipeline!: LocalPipeline;

  private constructor(dir: string, spec: ResourceSpec, remove: () => Promise<void>) {
    this.dir = dir;
    this.spec = spec;
    this.#remove = remove;
  }

  static async start(spec: ResourceSpec): Promise<LocalRun> {
    const state = await tempStateDir();
    const run = new LocalRun(state.dir, spec, state.remove);
    await run.restart();
    return run;
  }

  /** Starts the emulators and the pipeline (again) on the same state folder. */
  async restart(): Promise<void> {
    this.emulators = await emulatorsIn(this.dir);
    this.pipeline = await LocalPipeline.start({
      stateDir: this.dir,
      spec: this.spec,
      endpoints: this.emulators.endpoints,
    });
  }

  /** Every record in the lake objects under `prefix`, read back with DuckDB, copies included. */
  async lakeRows(prefix = "lake/") {
    const { s3 } = this.pipeline.clients;
    const bucket = this.pipeline.resources.bucket;
    const keys = await listKeys(s3, bucket, prefix);
    return lakeEnvelopes(
      await Promise.all(keys.map(async (key) => ({ key, bytes: await getBytes(s3, bucket, key) }))),
    );
  }

  async stop(): Promise<void> {
    await this.pipeline.stop();
    await this.emulators.stop();
    await this.#remove();
  }
}
