"""Describes Iceberg tables as pyiceberg (an independent implementation) reads them.

Reads a JSON request on stdin:
  {"s3": {"endpoint": "http://127.0.0.1:…"},
   "tables": [{"location": "s3://bucket/tables/ns/fx_quotes"}            # StaticTable (version hint)
              | {"location": "s3://…/fx_quotes/metadata/v7.metadata.json"}  # StaticTable (that version)
              | {"glue": {"endpoint": "…", "database": "…", "name": "…"}}], # GlueCatalog
   "snapshots": true,
   "added_files": true,
   "ids": false}
and prints one JSON object per table on stdout: schema with field ids, partition spec, sort
order, every snapshot (its time, summary and manifest list; the ids it reads when "snapshots"
is set, or when the table's "read_snapshots" lists its id; the data files it added, from its
own manifests' ADDED entries, when "added_files" is set), and the current snapshot's files
with their metrics, and the ids it reads unless "ids" is false (a soak's tables hold
millions). Tables are read by field id: no name mapping is set.
"""

import json
import sys

from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import StaticTable


def s3_properties(request):
    return {
        "s3.endpoint": request["s3"]["endpoint"],
        "s3.access-key-id": "test",
        "s3.secret-access-key": "test",
        "s3.region": "us-east-1",
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
    }


def open_table(request, spec):
    properties = s3_properties(request)
    if "glue" in spec:
        glue = spec["glue"]
        catalog = GlueCatalog(
            "ticklake",
            **{
                **properties,
                "glue.endpoint": glue["endpoint"],
                "glue.region": "us-east-1",
                "glue.access-key-id": "test",
                "glue.secret-access-key": "test",
            },
        )
        return catalog.load_table((glue["database"], glue["name"]))
    return StaticTable.from_metadata(spec["location"], properties)


def field_json(field):
    out = {"id": field.field_id, "name": field.name, "required": field.required, "type": str(field.field_type)}
    element_id = getattr(field.field_type, "element_id", None)
    if element_id is not None:
        out["element_id"] = element_id
    return out


def ids_of(table, snapshot_id):
    rows = table.scan(snapshot_id=snapshot_id, selected_fields=("id",)).to_arrow()
    return sorted(rows.column("id").to_pylist())


def added_files_of(table, snapshot):
    """The data files a snapshot added: ADDED entries of the manifests it wrote itself."""
    paths = []
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.status == ManifestEntryStatus.ADDED and entry.snapshot_id == snapshot.snapshot_id:
                paths.append(entry.data_file.file_path)
    return sorted(paths)


def describe(request, spec):
    table = open_table(request, spec)
    metadata = table.metadata
    current = table.current_snapshot()
    files = []
    if current is not None:
        for task in table.scan().plan_files():
            f = task.file
            files.append(
                {
                    "path": f.file_path,
                    "format": str(f.file_format),
                    "records": f.record_count,
                    "bytes": f.file_size_in_bytes,
                    "partition": list(f.partition),
                    "value_counts": {str(k): v for k, v in (f.value_counts or {}).items()},
                    "null_value_counts": {str(k): v for k, v in (f.null_value_counts or {}).items()},
                    "column_sizes": {str(k): v for k, v in (f.column_sizes or {}).items()},
                    "lower_bounds": {str(k): v.hex() for k, v in (f.lower_bounds or {}).items()},
                    "upper_bounds": {str(k): v.hex() for k, v in (f.upper_bounds or {}).items()},
                    "sort_order_id": f.sort_order_id,
                }
            )
    wanted = set(spec.get("read_snapshots", []))
    snapshots = []
    for snapshot in metadata.snapshots:
        entry = {
            "id": str(snapshot.snapshot_id),
            "parent": None if snapshot.parent_snapshot_id is None else str(snapshot.parent_snapshot_id),
            "sequence": snapshot.sequence_number,
            "timestamp_ms": snapshot.timestamp_ms,
            "operation": snapshot.summary.operation.value if snapshot.summary else None,
            "summary": dict(snapshot.summary.additional_properties) if snapshot.summary else {},
            "manifest_list": snapshot.manifest_list,
        }
        if request.get("snapshots") or str(snapshot.snapshot_id) in wanted:
            entry["ids"] = ids_of(table, snapshot.snapshot_id)
        if request.get("added_files"):
            entry["added_files"] = added_files_of(table, snapshot)
        snapshots.append(entry)
    read_ids = request.get("ids", True) and current is not None
    current_ids = ids_of(table, current.snapshot_id) if read_ids else []
    spec_ = metadata.spec()
    return {
        "format_version": metadata.format_version,
        "location": metadata.location,
        "schema": [field_json(f) for f in table.schema().fields],
        "schemas": len(metadata.schemas),
        "last_column_id": metadata.last_column_id,
        "partition_spec": [
            {"source_id": f.source_id, "field_id": f.field_id, "name": f.name, "transform": str(f.transform)}
            for f in spec_.fields
        ],
        "sort_order": [{"source_id": f.source_id, "direction": str(f.direction)} for f in table.sort_order().fields],
        "current_snapshot": None if current is None else str(current.snapshot_id),
        "snapshots": snapshots,
        "files": sorted(files, key=lambda f: f["path"]),
        "ids": current_ids,
        "metadata_log": len(metadata.metadata_log),
    }


def main():
    request = json.load(sys.stdin)
    print(json.dumps([describe(request, spec) for spec in request["tables"]]))


if __name__ == "__main__":
    main()
