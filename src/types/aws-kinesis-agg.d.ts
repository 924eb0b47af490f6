// The package's own types import the AWS SDK v2; these cover what ticklake uses.
declare module "aws-kinesis-agg" {
  interface AggRecord {
    partitionKey: string;
    data: Buffer;
    explicitHashKey?: string;
  }
  interface UserRecord {
    partitionKey: string;
    explicitPartitionKey?: string;
    sequenceNumber: string;
    subSequenceNumber: number;
    data: string;
  }
  interface KinesisPayload {
    kinesisSchemaVersion: string;
    partitionKey: string;
    sequenceNumber: string;
    data: string;
    approximateArrivalTimestamp: number;
  }
  class RecordAggregator {
    addUserRecord(record: AggRecord): void;
    checkIfUserRecordFits(record: AggRecord): boolean;
    calculateUserRecordSize(record: AggRecord): number;
    build(): { partitionKey: string; data: Buffer };
    length(): number;
  }
  function deaggregateSync(
    record: KinesisPayload,
    computeChecksums: boolean,
    callback: (error: Error | null, userRecords?: UserRecord[]) => void,
  ): void;
  const agg: { RecordAggregator: typeof RecordAggregator; deaggregateSync: typeof deaggregateSync };
  export default agg;
}
