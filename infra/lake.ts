/**
 * Lake and catalog: the lake bucket the processor writes, its Glue tables (`LakeCatalog`), the
 * Athena workgroup that queries them with its results bucket, and the bucket every access log
 * of the stack goes to (S3, the load balancer, VPC flow logs).
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../src/core/layout.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import { LakeCatalog } from "./catalog.ts";

/**
 * Private, encrypted, TLS only. Buckets are retained by a destroy, with generated names, so a
 * deploy of the same stage after a destroy creates new ones instead of failing on the old.
 */
const BUCKET_DEFAULTS = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

export interface LakeProps {
  readonly spec: ResourceSpec;
}

export class Lake extends Construct {
  /** Parquet objects under `lake/`, bad records under `quarantine/` (src/core/layout.ts). */
  readonly bucket: s3.Bucket;
  /** Access logs of the stack: `s3/…` from S3, `alb/` from the load balancer, `vpc-flow-logs/`. */
  readonly accessLogs: s3.Bucket;
  /** Athena's query results, kept 30 days. */
  readonly athenaResults: s3.Bucket;
  /** One Glue table per dataset over `bucket`. */
  readonly catalog: LakeCatalog;
  /** The Glue database's name: the stack's prefix with underscores. */
  readonly databaseName: string;
  readonly workGroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: LakeProps) {
    super(scope, id);
    const { spec } = props;
    this.accessLogs = new s3.Bucket(this, "AccessLogs", {
      ...BUCKET_DEFAULTS,
      // Deliveries (S3 server access logs, the load balancer, VPC flow logs) are granted by the
      // bucket policy CloudFormation writes, not by ACLs (feature flags in cdk.json).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });

    this.bucket = new s3.Bucket(this, "Lake", {
      ...BUCKET_DEFAULTS,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "s3/lake/",
      lifecycleRules: [
        {
          id: "lake-tiering",
          prefix: LAKE_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(30) },
          ],
        },
        {
          id: "quarantine-archive",
          prefix: QUARANTINE_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(30) },
          ],
          expiration: Duration.days(365),
        },
        { id: "abort-multipart", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    // A bucket with objects cannot be deleted by CloudFormation; emptying it would take a custom
    // resource. Retained, like the lake, and removed by hand (docs/deploy-aws.md).
    this.athenaResults = new s3.Bucket(this, "AthenaResults", {
      ...BUCKET_DEFAULTS,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "s3/athena-results/",
      lifecycleRules: [{ expiration: Duration.days(30) }],
    });

    this.databaseName = spec.prefix.replaceAll("-", "_");
    this.catalog = new LakeCatalog(this, "Catalog", { databaseName: this.databaseName, bucket: this.bucket });
    this.workGroup = new CfnWorkGroup(this, "WorkGroup", {
      name: spec.prefix,
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.athenaResults.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });
  }
}
