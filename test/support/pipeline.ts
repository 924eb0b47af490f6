/** A local pipeline on the real emulators, in a temporary state folder, for end-to-end tests. */
import type { ResourceSpec } from "../../src/core/spec.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { LocalPipeline, type LocalPipelineOptions } from "../../src/local/pipeline.ts";
import { lakeEnvelopes } from "./duckdb.ts";
import { emulatorsIn, getBytes, listKeys, tempStateDir } from "./local-aws.ts";
import { NotificationTimes } from "./notification-times.ts";

export class LocalRun {
  readonly dir: string;
  readonly spec: ResourceSpec;
  readonly #remove: () => Promise<void>;
  readonly #functions: LocalPipelineOptions["functions"];
  /** When each object's first notification, and each file's commit, arrived, over every restart. */
  readonly #times = new NotificationTimes();
  /** What the pipelines this run started reported as information (`onNotice`). */
  readonly notices: string[] = [];
  emulators!: RunningEmulators;
  pipeline!: LocalPipeline;

  private constructor(
    dir: string,
    spec: ResourceSpec,
    remove: () => Promise<void>,
    functions: LocalPipelineOptions["functions"],
  ) {
    this.dir = dir;
    this.spec = spec;
    this.#remove = remove;
    this.#functions = functions;
  }

  static async start(spec: ResourceSpec, functions?: LocalPipelineOptions["functions"]): Promise<LocalRun> {
    const state = await tempStateDir();
    const run = new LocalRun(state.dir, spec, state.remove, functions);
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
      onNotice: (stage, message) => this.notices.push(`[${stage}] ${message}`),
      ...(this.#functions ? { functions: this.#functions } : {}),
    });
    this.#times.follow(this.pipeline.notifications);
  }

  /** The notifications of every pipeline this run started, first arrival per object. */
  notifications(): Map<string, number> {
    return this.#times.objects;
  }

  /** The data files appends announced ("table updated"), over every pipeline this run started. */
  commitNotifications(): Map<string, number> {
    return this.#times.committed;
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
