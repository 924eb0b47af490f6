/**
 * A pipeline function as ticklake deploys it: the newest Node.js runtime on arm64, bundled by
 * the local esbuild (no Docker), source maps on, and a log group of its own that the stack
 * deletes with it.
 */
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct, IConstruct } from "constructs";

/** The repository's root: the CDK's project root for bundling. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A file under `src/`. */
const source = (path: string): string => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

/** Acknowledges a cdk-nag finding on a construct, with the reason it is acceptable. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export interface PipelineFunctionProps {
  /** The module under `src/` that exports `handler`, e.g. `functions/bridge.ts`. */
  readonly entry: string;
  readonly timeout: Duration;
  /** Settings, from `bridgeEnvironment` / `processorEnvironment` (src/functions/config.ts). */
  readonly environment: Record<string, string>;
  /** Files the bundle needs beside it, copied after bundling: [path under node_modules/, …]. */
  readonly bundledFiles?: readonly string[];
  /** @default 1024 */
  readonly memorySize?: number;
}

export class PipelineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const copies = (props.bundledFiles ?? []).map(
      (file) => (inputDir: string, outputDir: string) => `cp ${inputDir}/node_modules/${file} ${outputDir}/`,
    );
    super(scope, id, {
      runtime: lambda.Runtime.NODEJS_LATEST,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      entry: source(props.entry),
      timeout: props.timeout,
      logGroup,
      environment: { ...props.environment, NODE_OPTIONS: "--enable-source-maps" },
      bundling: {
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        ...(copies.length > 0
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) =>
                  copies.map((copy) => copy(inputDir, outputDir)),
              },
            }
          : {}),
      },
    });
    acknowledge(
      this,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
    );
  }
}
