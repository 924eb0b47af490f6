/**
 * The committer function with faults: the real handler (makeCommitterHandler) on clients that
 * carry the TICKLAKE_FAULTS middleware meant for the committer. The local pipeline runs it in
 * place of the committer. It also records each commit that lost its compare-and-swap (the
 * catalog's conditional write of metadata version N ≥ 2 answered 412 or 409), so that an
 * experiment shows its race really happened.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3ServiceException } from "@aws-sdk/client-s3";
import type { SQSEvent } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../../src/aws/clients.ts";
import { makeCommitterHandler } from "../../src/functions/committer.ts";
import { CommitterConfig, readConfig } from "../../src/functions/config.ts";
import { tableFunctionDeps } from "../../src/functions/table-function.ts";
import {
  CAS_CONFLICTS,
  COMMIT_METADATA_KEY,
  faultsFromEnv,
  injectFaults,
  recordObservation,
} from "./inject.ts";

const config = readConfig(CommitterConfig, process.env, "committer function configuration");
const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
const faults = faultsFromEnv(process.env);
const commitKey = new RegExp(COMMIT_METADATA_KEY);
clients.s3.middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as { Key?: unknown; IfNoneMatch?: unknown };
    if (context.commandName !== "PutObjectCommand" || input.IfNoneMatch !== "*") return next(args);
    if (typeof input.Key !== "string" || !commitKey.test(input.Key)) return next(args);
    try {
      return await next(args);
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      if (faults.dir && (status === 412 || status === 409)) recordObservation(faults.dir, CAS_CONFLICTS);
      throw error;
    }
  },
  // Added before the fault rules: it sees what reached S3, not the rules' own failures.
  { step: "initialize", name: "ticklakeCasConflicts" },
);
injectFaults(clients, faults.rules, faults.dir, "committer");
const committer = makeCommitterHandler({
  ...tableFunctionDeps(config, clients),
  logger: new Logger({ serviceName: "ticklake-committer", logLevel: "CRITICAL" }),
});

export const handler = (event: SQSEvent) => committer(event);
