import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

/** `npm run test:faults`: the whole fault-injection suite, one experiment at a time. */
export default defineConfig({
  test: {
    ...base.test,
    include: ["test/faults/suite.faults.ts"],
    maxWorkers: 1,
    testTimeout: 300_000,
  },
});
