//! The Parquet form of an export: one row group per store page, written
//! into a shared buffer that is drained after each group, so only about one
//! page's rows are in memory. Uncompressed: no codec is compiled in, and BI
//! tools read it as is.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, TimestampMillisecondBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tonic::Status;

use super::export::{COLUMNS, CheckRow};

/// The export's columns, typed.
fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let number = |name: &str, nullable: bool| Field::new(name, DataType::Float64, nullable);
    Arc::new(Schema::new(vec![
        text(COLUMNS[0]),
        text(COLUMNS[1]),
        text(COLUMNS[2]),
        text(COLUMNS[3]),
        Field::new(
            COLUMNS[4],
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        text(COLUMNS[5]),
        Field::new(COLUMNS[6], DataType::UInt32, false),
        text(COLUMNS[7]),
        text(COLUMNS[8]),
        Field::new(COLUMNS[9], DataType::Boolean, false),
        text(COLUMNS[10]),
        number(COLUMNS[11], false),
        number(COLUMNS[12], false),
        number(COLUMNS[13], true),
        text(COLUMNS[14]),
        number(COLUMNS[15], false),
        number(COLUMNS[16], false),
        number(COLUMNS[17], true),
        Field::new(COLUMNS[18], DataType::Boolean, false),
        number(COLUMNS[19], true),
    ]))
}

fn failed(error: impl std::fmt::Display) -> Status {
    Status::internal(format!("writing Parquet: {error}"))
}

/// Where the writer puts the file's bytes; the export takes them out as
/// they arrive (the writer keeps its own small buffer in front of it).
#[derive(Debug, Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Result<Vec<u8>, Status> {
        let mut bytes = self
            .0
            .lock()
            .map_err(|_| Status::internal("writing Parquet: the buffer was poisoned"))?;
        Ok(std::mem::take(&mut *bytes))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("the export buffer was poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Parquet file being written.
pub struct ParquetFile {
    schema: SchemaRef,
    buffer: SharedBuffer,
    writer: ArrowWriter<SharedBuffer>,
}

impl ParquetFile {
    /// Starts a file.
    pub fn new() -> Result<Self, Status> {
        let schema = schema();
        let properties = WriterProperties::builder()
            .set_created_by(format!("callscore {}", env!("CARGO_PKG_VERSION")))
            .build();
        let buffer = SharedBuffer::default();
        let writer = ArrowWriter::try_new(buffer.clone(), schema.clone(), Some(properties))
            .map_err(failed)?;
        Ok(Self {
            schema,
            buffer,
            writer,
        })
    }

    fn batch(&self, rows: &[CheckRow]) -> Result<RecordBatch, Status> {
        let text = |get: fn(&CheckRow) -> &str| -> ArrayRef {
            let mut builder = StringBuilder::new();
            for row in rows {
                builder.append_value(get(row));
            }
            Arc::new(builder.finish())
        };
        let number = |get: fn(&CheckRow) -> Option<f64>| -> ArrayRef {
            let mut builder = Float64Builder::new();
            for row in rows {
                builder.append_option(get(row));
            }
            Arc::new(builder.finish())
        };
        let flag = |get: fn(&CheckRow) -> bool| -> ArrayRef {
            let mut builder = BooleanBuilder::new();
            for row in rows {
                builder.append_value(get(row));
            }
            Arc::new(builder.finish())
        };
        let mut started = TimestampMillisecondBuilder::new().with_timezone("UTC");
        let mut version = UInt32Builder::new();
        for row in rows {
            started.append_value(row.call_started_at_ms);
            version.append_value(row.rubric_version);
        }
        let columns: Vec<ArrayRef> = vec![
            text(|r| &r.call_id),
            text(|r| &r.scorecard_id),
            text(|r| &r.agent_id),
            text(|r| &r.team_id),
            Arc::new(started.finish()),
            text(|r| &r.rubric_id),
            Arc::new(version.finish()),
            text(|r| &r.criterion_id),
            text(|r| &r.check_id),
            flag(|r| r.critical),
            text(|r| r.machine_outcome),
            number(|r| Some(r.machine_points)),
            number(|r| Some(r.machine_possible)),
            number(|r| r.machine_fraction),
            text(|r| r.reviewed_outcome),
            number(|r| Some(r.reviewed_points)),
            number(|r| Some(r.reviewed_possible)),
            number(|r| r.reviewed_fraction),
            flag(|r| r.overridden),
            number(|r| r.overall_reviewed_score),
        ];
        RecordBatch::try_new(self.schema.clone(), columns).map_err(failed)
    }
}

impl super::export::FileWriter for ParquetFile {
    fn page(&mut self, rows: &[CheckRow]) -> Result<Vec<u8>, Status> {
        let batch = self.batch(rows)?;
        self.writer.write(&batch).map_err(failed)?;
        // One row group per page; what reached the buffer leaves it now.
        self.writer.flush().map_err(failed)?;
        self.buffer.take()
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, Status> {
        let buffer = self.buffer.clone();
        self.writer.close().map_err(failed)?;
        buffer.take()
    }

    fn content_type(&self) -> &'static str {
        "application/vnd.apache.parquet"
    }
}
