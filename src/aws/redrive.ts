/**
 * Moves messages from a dead-letter queue back to its source queue (`ticklake redrive`):
 * each is sent again with its body and attributes, then deleted from the DLQ. A message is
 * deleted only once its copy is sent, so a failure part-way leaves it in the DLQ, not lost
 * (it may then be in both; the processor's conditional writes make that harmless).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
 */
import {
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

export interface RedriveResult {
  moved: number;
  failed: number;
}

export async function redrive(
  sqs: SQSClient,
  dlqUrl: string,
  queueUrl: string,
  onProgress?: (moved: number) => void,
  maxMessages = Number.POSITIVE_INFINITY,
): Promise<RedriveResult> {
  const result: RedriveResult = { moved: 0, failed: 0 };
  while (result.moved + result.failed < maxMessages) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? "",
          MessageAttributes: message.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const moved = Messages.filter((_, index) => ok.has(String(index)));
    result.failed += Messages.length - moved.length;
    if (moved.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlqUrl,
          Entries: moved.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
    result.moved += moved.length;
    onProgress?.(result.moved);
  }
  return result;
}
