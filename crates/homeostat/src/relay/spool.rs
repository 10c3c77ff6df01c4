//! The on-disk spool: `events.jsonl` (append-only; every answer waits for its fsync, and
//! concurrent requests share one fsync) and `cursor.json` (what was forwarded, and the
//! exact range of a batch in flight, so a batch resent after a crash is the same batch).
//!
//! Size-capped: when the bytes not yet forwarded reach the cap, new events are refused
//! (503) and counted as dropped. Once everything is forwarded the file is truncated and
//! the generation bumps, so batch ids never repeat.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::RelayError;
use super::ingest::Record;

/// What was forwarded: `acked` bytes of generation `generation`; `pending` is the end of
/// the batch being sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub generation: u64,
    pub acked: u64,
    #[serde(default)]
    pub pending: Option<u64>,
}

/// A range of spool records to forward.
#[derive(Debug, Clone)]
pub struct Batch {
    pub generation: u64,
    pub start: u64,
    pub end: u64,
    pub records: Vec<Record>,
}

impl Batch {
    /// A stable id: the same range of the same generation always has the same id.
    pub fn id(&self) -> String {
        format!("g{}-{}-{}", self.generation, self.start, self.end)
    }
}

struct Inner {
    dir: PathBuf,
    file: File,
    len: u64,
    cursor: Cursor,
    max_bytes: u64,
}

type Request = (Vec<u8>, oneshot::Sender<Result<(), RelayError>>);

/// A handle to the spool, cheap to clone.
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Mutex<Inner>>,
    tx: mpsc::Sender<Request>,
}

fn io_err(path: &Path, e: std::io::Error) -> crate::Error {
    crate::Error::Failed(format!("spool {}: {e}", path.display()))
}

impl Spool {
    /// Opens (or creates) the spool in `dir`; a torn last line left by a crash is cut off.
    pub fn open(dir: &Path, max_bytes: u64) -> crate::Result<Self> {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let path = dir.join("events.jsonl");
        let mut file =
            OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        let len = complete_length(&mut file).map_err(|e| io_err(&path, e))?;
        file.set_len(len).map_err(|e| io_err(&path, e))?;
        let cursor_path = dir.join("cursor.json");
        let mut cursor: Cursor = match fs::read_to_string(&cursor_path) {
            Ok(text) => crate::parse::json(&cursor_path.display().to_string(), &text)?,
            Err(_) => Cursor::default(),
        };
        cursor.acked = cursor.acked.min(len);
        cursor.pending = cursor.pending.filter(|p| *p <= len && *p > cursor.acked);
        let inner = Arc::new(Mutex::new(Inner { dir: dir.to_path_buf(), file, len, cursor, max_bytes }));
        let (tx, rx) = mpsc::channel::<Request>(4096);
        let writer = inner.clone();
        std::thread::Builder::new()
            .name("relay-spool".into())
            .spawn(move || write_loop(writer, rx))
            .map_err(|e| crate::Error::Failed(format!("spool writer thread: {e}")))?;
        Ok(Self { inner, tx })
    }

    /// Appends records; returns once they are on disk.
    pub async fn append(&self, records: &[Record]) -> Result<(), RelayError> {
        let mut bytes = Vec::with_capacity(512 * records.len());
        for r in records {
            serde_json::to_writer(&mut bytes, r).map_err(|e| RelayError::BadRequest(e.to_string()))?;
            bytes.push(b'\n');
        }
        let (done, wait) = oneshot::channel();
        let gone = || RelayError::Unavailable("the spool is closed".into());
        self.tx.send((bytes, done)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }

    /// Bytes written and not yet forwarded.
    pub fn backlog(&self) -> u64 {
        self.inner.lock().map(|i| i.len - i.cursor.acked).unwrap_or(0)
    }

    /// The next batch: the one in flight when a crash interrupted it, else up to
    /// `max_events` records from the cursor. Marks it pending on disk before returning.
    pub fn next_batch(&self, max_events: usize) -> crate::Result<Option<Batch>> {
        let mut inner = self.inner.lock().map_err(|_| crate::Error::Failed("spool lock poisoned".into()))?;
        let start = inner.cursor.acked;
        if start >= inner.len {
            return Ok(None);
        }
        let path = inner.dir.join("events.jsonl");
        let mut reader = File::open(&path).map_err(|e| io_err(&path, e))?;
        reader.seek(SeekFrom::Start(start)).map_err(|e| io_err(&path, e))?;
        let limit = inner.cursor.pending.unwrap_or(inner.len);
        let mut lines = BufReader::new(reader.take(limit - start));
        let (mut end, mut records, mut line) = (start, Vec::new(), Vec::new());
        while inner.cursor.pending.is_some() || records.len() < max_events {
            line.clear();
            let n = lines.read_until(b'\n', &mut line).map_err(|e| io_err(&path, e))?;
            if n == 0 {
                break;
            }
            end += n as u64;
            match serde_json::from_slice::<Record>(&line) {
                Ok(r) => records.push(r),
                Err(e) => tracing::warn!("spool {} byte {}: skipped a bad record: {e}", path.display(), end - n as u64),
            }
        }
        if inner.cursor.pending != Some(end) {
            inner.cursor.pending = Some(end);
            save_cursor(&inner.dir, &inner.cursor)?;
        }
        Ok(Some(Batch { generation: inner.cursor.generation, start, end, records }))
    }

    /// Records a batch as forwarded; when nothing is left the file starts over.
    pub fn ack(&self, batch: &Batch) -> crate::Result<()> {
        let mut inner = self.inner.lock().map_err(|_| crate::Error::Failed("spool lock poisoned".into()))?;
        if batch.generation != inner.cursor.generation || batch.start != inner.cursor.acked {
            return Ok(());
        }
        let path = inner.dir.join("events.jsonl");
        if batch.end == inner.len {
            // Truncate first: a crash before the cursor is saved leaves acked > len, which
            // open() reads as "everything forwarded", never as "send it again".
            inner.file.set_len(0).map_err(|e| io_err(&path, e))?;
            inner.file.sync_all().map_err(|e| io_err(&path, e))?;
            inner.len = 0;
            inner.cursor = Cursor { generation: inner.cursor.generation + 1, acked: 0, pending: None };
        } else {
            inner.cursor.acked = batch.end;
            inner.cursor.pending = None;
        }
        save_cursor(&inner.dir, &inner.cursor)
    }
}

/// The length up to the last complete line.
fn complete_length(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut pos = len;
    let mut buf = [0u8; 4096];
    while pos > 0 {
        let from = pos.saturating_sub(buf.len() as u64);
        let n = (pos - from) as usize;
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(from + i as u64 + 1);
        }
        pos = from;
    }
    Ok(0)
}

fn save_cursor(dir: &Path, cursor: &Cursor) -> crate::Result<()> {
    let tmp = dir.join("cursor.json.tmp");
    let path = dir.join("cursor.json");
    let text = serde_json::to_vec(cursor).map_err(|e| crate::Error::Failed(e.to_string()))?;
    let mut f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(&text).and_then(|_| f.sync_all()).map_err(|e| io_err(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Group commit: takes every request waiting, writes them, one fsync, then answers all.
fn write_loop(inner: Arc<Mutex<Inner>>, mut rx: mpsc::Receiver<Request>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let Ok(mut guard) = inner.lock() else { return };
        let inner = &mut *guard;
        let mut buf = Vec::new();
        let mut answers = Vec::new();
        let mut backlog = inner.len - inner.cursor.acked;
        for (bytes, done) in batch {
            if backlog + bytes.len() as u64 > inner.max_bytes {
                let _ = done.send(Err(RelayError::Unavailable(format!(
                    "the spool is full ({} bytes waiting to be forwarded)",
                    backlog
                ))));
                continue;
            }
            backlog += bytes.len() as u64;
            buf.extend_from_slice(&bytes);
            answers.push(done);
        }
        let written = inner.file.write_all(&buf).and_then(|_| inner.file.sync_data());
        match written {
            Ok(()) => {
                inner.len += buf.len() as u64;
                answers.into_iter().for_each(|d| drop(d.send(Ok(()))));
            }
            Err(e) => {
                tracing::error!("spool write failed: {e}");
                // Whatever part was written is cut off again so lines stay whole.
                let _ = inner.file.set_len(inner.len);
                let msg = format!("the spool cannot be written: {e}");
                answers.into_iter().for_each(|d| drop(d.send(Err(RelayError::Unavailable(msg.clone())))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ErrorEvent;

    fn rec(i: usize) -> Record {
        let event = ErrorEvent { message: Some(format!("m{i}")), id: Some(format!("id{i}")), ..Default::default() };
        Record::Event { project: "1".into(), fingerprint: "f".into(), event }
    }

    #[tokio::test]
    async fn a_batch_in_flight_is_resent_whole_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.append(&(0..5).map(rec).collect::<Vec<_>>()).await.unwrap();
        let first = spool.next_batch(3).unwrap().unwrap();
        assert_eq!(first.records.len(), 3);
        spool.append(&[rec(5)]).await.unwrap();
        drop(spool);
        // A crash before the ack: the same range comes back, not a bigger one.
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let again = spool.next_batch(100).unwrap().unwrap();
        assert_eq!((again.id(), again.records.len()), (first.id(), 3));
        spool.ack(&again).unwrap();
        let rest = spool.next_batch(100).unwrap().unwrap();
        assert_eq!(rest.records.len(), 3);
        spool.ack(&rest).unwrap();
        assert!(spool.next_batch(100).unwrap().is_none());
        assert_eq!(fs::metadata(dir.path().join("events.jsonl")).unwrap().len(), 0, "emptied once all is forwarded");
    }

    #[tokio::test]
    async fn torn_lines_are_cut_and_a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 300).unwrap();
        spool.append(&[rec(1)]).await.unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join("events.jsonl")).unwrap();
        f.write_all(b"{\"kind\":\"ev").unwrap();
        drop((f, spool));
        let spool = Spool::open(dir.path(), 300).unwrap();
        assert_eq!(spool.next_batch(10).unwrap().unwrap().records, vec![rec(1)]);
        let many: Vec<Record> = (0..10).map(rec).collect();
        assert!(matches!(spool.append(&many).await, Err(RelayError::Unavailable(_))));
    }
}
