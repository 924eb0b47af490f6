/**
 * SQS's query protocol (form-encoded requests, XML responses) in front of fauxqs, which speaks
 * only the JSON protocol. Older clients use it, Debian's AWS CLI 2.9 among them; translating
 * lets any AWS client reach the local queues. Each request becomes a JSON-protocol request
 * served by fauxqs itself through `inject`, and its answer is written back as XML.
 * EMULATOR-SPECIFIC: real SQS speaks both protocols.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";

const SQS_API_VERSION = "2012-11-05";
const NAMESPACE = `http://queue.amazonaws.com/doc/${SQS_API_VERSION}/`;

/** Actions translated; others are refused with a clear error. */
const ACTIONS = new Set([
  "CreateQueue",
  "GetQueueUrl",
  "ListQueues",
  "GetQueueAttributes",
  "SetQueueAttributes",
  "SendMessage",
  "ReceiveMessage",
  "DeleteMessage",
  "ChangeMessageVisibility",
  "PurgeQueue",
  "DeleteQueue",
]);

type Form = Record<string, string>;

function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("\r", "&#xD;");
}

/** `Prefix.1`, `Prefix.2`, … → their values, in order. */
function numbered(form: Form, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; form[`${prefix}.${i}`] !== undefined; i++) values.push(form[`${prefix}.${i}`] as string);
  return values;
}

/** Translates a query-protocol form into the JSON protocol's input for the same action. */
export function jsonInputOf(form: Form): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const copy = (name: string, asNumber = false) => {
    const value = form[name];
    if (value !== undefined) input[name] = asNumber ? Number(value) : value;
  };
  for (const name of [
    "QueueUrl",
    "QueueName",
    "QueueNamePrefix",
    "ReceiptHandle",
    "MessageBody",
    "NextToken",
  ])
    copy(name);
  for (const name of [
    "MaxNumberOfMessages",
    "WaitTimeSeconds",
    "VisibilityTimeout",
    "DelaySeconds",
    "MaxResults",
  ]) {
    copy(name, true);
  }
  const attributeNames = numbered(form, "AttributeName");
  if (attributeNames.length > 0) input.AttributeNames = attributeNames;
  const systemNames = numbered(form, "MessageSystemAttributeName");
  if (systemNames.length > 0) input.MessageSystemAttributeNames = systemNames;
  const messageAttributeNames = numbered(form, "MessageAttributeName");
  if (messageAttributeNames.length > 0) input.MessageAttributeNames = messageAttributeNames;

  const attributes: Record<string, string> = {};
  for (let i = 1; form[`Attribute.${i}.Name`] !== undefined; i++) {
    attributes[form[`Attribute.${i}.Name`] as string] = form[`Attribute.${i}.Value`] ?? "";
  }
  if (Object.keys(attributes).length > 0) input.Attributes = attributes;

  const messageAttributes: Record<string, { DataType: string; StringValue?: string }> = {};
  for (let i = 1; form[`MessageAttribute.${i}.Name`] !== undefined; i++) {
    const prefix = `MessageAttribute.${i}.Value`;
    messageAttributes[form[`MessageAttribute.${i}.Name`] as string] = {
      DataType: form[`${prefix}.DataType`] ?? "String",
      ...(form[`${prefix}.StringValue`] !== undefined ? { StringValue: form[`${prefix}.StringValue`] } : {}),
    };
  }
  if (Object.keys(messageAttributes).length > 0) input.MessageAttributes = messageAttributes;
  return input;
}

function attributesXml(element: string, attributes: Record<string, string> | undefined): string {
  return Object.entries(attributes ?? {})
    .map(
      ([name, value]) =>
        `<${element}><Name>${escapeXml(name)}</Name><Value>${escapeXml(String(value))}</Value></${element}>`,
    )
    .join("");
}

interface JsonMessage {
  MessageId?: string;
  ReceiptHandle?: string;
  MD5OfBody?: string;
  MD5OfMessageAttributes?: string;
  Body?: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
}

function messageXml(message: JsonMessage): string {
  const fields = ["MessageId", "ReceiptHandle", "MD5OfBody", "MD5OfMessageAttributes", "Body"] as const;
  const simple = fields
    .filter((field) => message[field] !== undefined)
    .map((field) => `<${field}>${escapeXml(String(message[field]))}</${field}>`)
    .join("");
  const messageAttributes = Object.entries(message.MessageAttributes ?? {})
    .map(
      ([name, value]) =>
        `<MessageAttribute><Name>${escapeXml(name)}</Name><Value>${
          value.StringValue !== undefined ? `<StringValue>${escapeXml(value.StringValue)}</StringValue>` : ""
        }<DataType>${escapeXml(value.DataType ?? "String")}</DataType></Value></MessageAttribute>`,
    )
    .join("");
  return `<Message>${simple}${attributesXml("Attribute", message.Attributes)}${messageAttributes}</Message>`;
}

/** Writes the JSON protocol's output of `action` as the query protocol's XML result. */
export function resultXml(action: string, output: Record<string, unknown>): string {
  let result = "";
  switch (action) {
    case "CreateQueue":
    case "GetQueueUrl":
      result = `<QueueUrl>${escapeXml(String(output.QueueUrl ?? ""))}</QueueUrl>`;
      break;
    case "ListQueues":
      result = ((output.QueueUrls as string[] | undefined) ?? [])
        .map((url) => `<QueueUrl>${escapeXml(url)}</QueueUrl>`)
        .join("");
      break;
    case "GetQueueAttributes":
      result = attributesXml("Attribute", output.Attributes as Record<string, string> | undefined);
      break;
    case "SendMessage":
      result = ["MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes"]
        .filter((field) => output[field] !== undefined)
        .map((field) => `<${field}>${escapeXml(String(output[field]))}</${field}>`)
        .join("");
      break;
    case "ReceiveMessage":
      result = ((output.Messages as JsonMessage[] | undefined) ?? []).map(messageXml).join("");
      break;
  }
  const requestId = randomUUID();
  const body =
    result === "" && !["ListQueues", "ReceiveMessage", "GetQueueAttributes"].includes(action)
      ? ""
      : `<${action}Result>${result}</${action}Result>`;
  return `<?xml version="1.0"?><${action}Response xmlns="${NAMESPACE}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

function errorXml(code: string, message: string, sender: boolean): string {
  return `<?xml version="1.0"?><ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${sender ? "Sender" : "Receiver"}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><Detail/></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

/** Answers SQS query-protocol requests (POST / with Version=2012-11-05) before fauxqs's SNS router sees them. */
export function installSqsQueryProtocol(app: FastifyInstance): void {
  app.addHook("preHandler", async (request, reply) => {
    if (request.method !== "POST" || request.routeOptions.url !== "/") return;
    const form = request.body as Form | undefined;
    if (
      !form ||
      typeof form !== "object" ||
      form.Version !== SQS_API_VERSION ||
      typeof form.Action !== "string"
    )
      return;
    const action = form.Action;
    reply.header("content-type", "text/xml");
    if (!ACTIONS.has(action)) {
      return reply
        .status(400)
        .send(
          errorXml(
            "InvalidAction",
            `ticklake's local SQS query protocol does not translate ${action}; use the JSON protocol`,
            true,
          ),
        );
    }
    const response = await app.inject({
      method: "POST",
      url: "/",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${action}`,
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      },
      payload: JSON.stringify(jsonInputOf(form)),
    });
    const output = response.body === "" ? {} : (JSON.parse(response.body) as Record<string, unknown>);
    if (response.statusCode >= 400) {
      const code =
        String(output.__type ?? "InternalError")
          .split("#")
          .pop() ?? "InternalError";
      return reply
        .status(response.statusCode)
        .send(
          errorXml(
            code.replace(/^com\.amazonaws\.sqs\./, ""),
            String(output.message ?? output.Message ?? ""),
            response.statusCode < 500,
          ),
        );
    }
    return reply.status(200).send(resultXml(action, output));
  });
}
