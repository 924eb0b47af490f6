/** S3 and SNS adapters of the processor: conditional object writes and manifests. */
import { PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { ObjectManifest, ObjectPlan } from "../core/planning.ts";

export type WriteOutcome = "created" | "exists";

/**
 * Writes the object only if its key is free (`If-None-Match: *`). 412 Precondition Failed
 * means an earlier delivery of the same message wrote it already, which counts as success.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export async function putObjectIfAbsent(
  s3: S3Client,
  bucket: string,
  plan: ObjectPlan,
): Promise<WriteOutcome> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: plan.key,
        Body: plan.body,
        ContentType: plan.contentType,
        ...(plan.contentEncoding ? { ContentEncoding: plan.contentEncoding } : {}),
        IfNoneMatch: "*",
        Metadata: { records: String(plan.records), dataset: plan.dataset },
      }),
    );
    return "created";
  } catch (error) {
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412) return "exists";
    throw error;
  }
}

/** Publishes an object's manifest, with attributes that subscription filter policies can match. */
export async function publishManifest(
  sns: SNSClient,
  topicArn: string,
  manifest: ObjectManifest,
): Promise<void> {
  const text = (value: string) => ({ DataType: "String", StringValue: value });
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: JSON.stringify(manifest),
      MessageAttributes: {
        kind: text(manifest.kind),
        dataset: text(manifest.dataset),
        partition: text(`dt=${manifest.dt}/hour=${manifest.hour}`),
      },
    }),
  );
}
