import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Starts the folders of long files first (fault experiments, end-to-end, the CDK's synths),
 * then integration, then unit tests: on a clean clone vitest knows no durations and starts
 * large files first, so a short file of long experiments started last and held the run for
 * minutes on one worker while the other idled. Within a folder, vitest's own order.
 */
const FOLDERS_FIRST = ["test/faults/", "test/e2e/", "test/infra/", "test/integration/", "test/unit/"];

class LongFoldersFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = FOLDERS_FIRST.findIndex((folder) => file.moduleId.includes(`/${folder}`));
      return index === -1 ? FOLDERS_FIRST.length : index;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration and end-to-end tests start emulator processes; two files at a time fit 2 cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    sequence: { sequencer: LongFoldersFirst },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", POWERTOOLS_METRICS_DISABLED: "true" },
  },
});
