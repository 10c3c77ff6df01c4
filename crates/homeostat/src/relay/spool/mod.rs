//! The on-disk spool: segments `events-<generation>.jsonl` (append-only; every answer waits
//! for its fsync, and concurrent requests share one fsync) and `cursor.json` (how far the
//! oldest segment was forwarded, and the exact range of a batch in flight, so a batch resent
//! after a crash is the same batch; an ack is written with the next batch's range).
//!
//! Size-capped: when the bytes not yet forwarded reach the cap, new events are refused
//! (503) and counted as dropped. The segment being written is sealed once it passes a size
//! and a new one (the next generation) started; a sealed segment forwarded whole is
//! deleted. So the disk holds what waits plus about one segment even when traffic never
//! pauses — one file emptied only when the forwarder caught up exactly would grow without
//! end under steady traffic. Generations only grow, so batch ids never repeat.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::RelayError;
use super::ingest::Record;

mod writer;
use writer::{Request, Writer, write_loop};

/// What was forwarded: `acked` bytes of segment `generation` (every older segment is
/// gone); `pending` is the end of the batch being sent.
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

/// The spool's state shared by the writer thread and the forwarder.
struct Inner {
    /// The written (fsync'd) length of each segment on disk, by generation; the last one is
    /// the segment being written.
    segments: BTreeMap<u64, u64>,
    cursor: Cursor,
    /// The cursor moved by an ack and not saved yet (see [`Spool::ack`]).
    unsaved: bool,
    max_bytes: u64,
}

/// A handle to the spool, cheap to clone.
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Mutex<Inner>>,
    tx: mpsc::Sender<Request>,
    dir: PathBuf,
}

fn io_err(path: &Path, e: std::io::Error) -> crate::Error {
    crate::Error::Failed(format!("spool {}: {e}", path.display()))
}

fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("events-{generation}.jsonl"))
}

/// A sixteenth of the cap, between 64 KiB and 16 MiB: small enough that forwarded data
/// leaves the disk soon, large enough that rotating (a file and a directory fsync) is rare.
fn segment_size_for(max_bytes: u64) -> u64 {
    (max_bytes / 16).clamp(64 << 10, 16 << 20)
}

impl Inner {
    fn lock(inner: &Mutex<Inner>) -> crate::Result<std::sync::MutexGuard<'_, Inner>> {
        inner.lock().map_err(|_| crate::Error::Failed("spool lock poisoned".into()))
    }

    fn writing(&self) -> u64 {
        self.segments.keys().next_back().copied().unwrap_or(self.cursor.generation)
    }

    fn backlog(&self) -> u64 {
        let written: u64 = self.segments.range(self.cursor.generation..).map(|(_, len)| len).sum();
        written.saturating_sub(self.cursor.acked)
    }

    /// A sealed segment forwarded whole, if the cursor is at one, and the cursor past it.
    fn forwarded_segment(&self) -> Option<(u64, Cursor)> {
        let done = self.cursor.generation;
        let whole = self.segments.get(&done).is_none_or(|len| self.cursor.acked >= *len);
        if self.cursor.pending.is_some() || done >= self.writing() || !whole {
            return None;
        }
        let next = self.segments.range(done + 1..).next().map_or(done + 1, |(g, _)| *g);
        Some((done, Cursor { generation: next, acked: 0, pending: None }))
    }
}

impl Spool {
    /// Opens (or creates) the spool in `dir`; a torn last line left by a crash is cut off.
    pub fn open(dir: &Path, max_bytes: u64) -> crate::Result<Self> {
        Self::open_with(dir, max_bytes, segment_size_for(max_bytes))
    }

    fn open_with(dir: &Path, max_bytes: u64, segment_bytes: u64) -> crate::Result<Self> {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let cursor_path = dir.join("cursor.json");
        let mut cursor: Cursor = match fs::read_to_string(&cursor_path) {
            Ok(text) => crate::parse::json(&cursor_path.display().to_string(), &text)?,
            Err(_) => Cursor::default(),
        };
        // The single file of earlier versions is the cursor's segment, sealed: that layout
        // could restart a generation at offset 0 after a crash, so new events start the next.
        let legacy = dir.join("events.jsonl");
        let cursor_segment = segment_path(dir, cursor.generation);
        if legacy.exists() && !cursor_segment.exists() {
            fs::rename(&legacy, &cursor_segment).map_err(|e| io_err(&legacy, e))?;
            let next = segment_path(dir, cursor.generation + 1);
            File::create(&next).map_err(|e| io_err(&next, e))?;
            crate::files::sync_dir(dir);
        } else if legacy.exists() {
            tracing::warn!("spool {}: left alone, {} is already there", legacy.display(), cursor_segment.display());
        }
        let mut segments = BTreeMap::new();
        for generation in segment_generations(dir)? {
            let path = segment_path(dir, generation);
            if generation < cursor.generation {
                // Forwarded; a crash came between saving the cursor and deleting it.
                fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
                continue;
            }
            let mut file = OpenOptions::new().read(true).write(true).open(&path).map_err(|e| io_err(&path, e))?;
            let len = complete_length(&mut file).map_err(|e| io_err(&path, e))?;
            file.set_len(len).map_err(|e| io_err(&path, e))?;
            segments.insert(generation, len);
        }
        if !segments.contains_key(&cursor.generation) {
            // Its segment is gone (deleted by hand, or never written): forward what is there
            // from its start — resending is safe (batch keys), skipping would lose events.
            let first = segments.keys().next().copied().unwrap_or(cursor.generation);
            cursor = Cursor { generation: first, acked: 0, pending: None };
        }
        let writing = segments.keys().next_back().copied().unwrap_or(cursor.generation);
        let path = segment_path(dir, writing);
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        let len = *segments.entry(writing).or_insert(0);
        let cursor_len = segments.get(&cursor.generation).copied().unwrap_or(0);
        cursor.acked = cursor.acked.min(cursor_len);
        cursor.pending = cursor.pending.filter(|p| *p <= cursor_len && *p > cursor.acked);
        let writer = Writer { dir: dir.to_path_buf(), file, generation: writing, len, segment_bytes };
        let inner = Arc::new(Mutex::new(Inner { segments, cursor, unsaved: false, max_bytes }));
        let (tx, rx) = mpsc::channel::<Request>(4096);
        let shared = inner.clone();
        std::thread::Builder::new()
            .name("relay-spool".into())
            .spawn(move || write_loop(shared, writer, rx))
            .map_err(|e| crate::Error::Failed(format!("spool writer thread: {e}")))?;
        Ok(Self { inner, tx, dir: dir.to_path_buf() })
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
        self.inner.lock().map(|i| i.backlog()).unwrap_or(0)
    }

    /// The next batch: the one in flight when a crash interrupted it, else up to
    /// `max_events` records from the cursor (never across segments). Marks it pending on
    /// disk before returning, in the same write as the ack before it; with nothing to
    /// send, saves that ack alone.
    ///
    /// Only the forwarder calls this and [`ack`](Self::ack), so only it moves the cursor or
    /// deletes a segment: it reads, parses and saves without holding the lock, and the
    /// writer, which only appends past what it has announced, never waits on any of it.
    pub fn next_batch(&self, max_events: usize) -> crate::Result<Option<Batch>> {
        self.leave_forwarded()?;
        let (cursor, written, unsaved) = {
            let inner = Inner::lock(&self.inner)?;
            (inner.cursor, inner.segments.get(&inner.cursor.generation).copied().unwrap_or(0), inner.unsaved)
        };
        let (generation, start) = (cursor.generation, cursor.acked);
        if start >= written {
            if unsaved {
                self.commit(cursor)?;
            }
            return Ok(None);
        }
        let path = segment_path(&self.dir, generation);
        let mut reader = File::open(&path).map_err(|e| io_err(&path, e))?;
        reader.seek(SeekFrom::Start(start)).map_err(|e| io_err(&path, e))?;
        let limit = cursor.pending.unwrap_or(written);
        let mut lines = BufReader::new(reader.take(limit - start));
        let (mut end, mut records, mut line) = (start, Vec::new(), Vec::new());
        while cursor.pending.is_some() || records.len() < max_events {
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
        if cursor.pending != Some(end) || unsaved {
            self.commit(Cursor { pending: Some(end), ..cursor })?;
        }
        Ok(Some(Batch { generation, start, end, records }))
    }

    /// Records a batch as forwarded; a sealed segment forwarded whole is deleted.
    ///
    /// The moved cursor reaches the disk with the next [`next_batch`](Self::next_batch)
    /// (one durable write per batch, not two): a crash before that resends this batch
    /// under the same id, which counts nothing twice — as a crash between sending and
    /// acking always could.
    pub fn ack(&self, batch: &Batch) -> crate::Result<()> {
        {
            let mut inner = Inner::lock(&self.inner)?;
            if batch.generation != inner.cursor.generation || batch.start != inner.cursor.acked {
                return Ok(());
            }
            inner.cursor.acked = batch.end;
            inner.cursor.pending = None;
            inner.unsaved = true;
        }
        self.leave_forwarded()
    }

    /// The one way the cursor moves: `next` is written to disk (fsync'd, outside the lock),
    /// then adopted — a failed write leaves the cursor as it was, so nothing looks marked
    /// that is not. Meanwhile the writer sees the older cursor, which only overstates the
    /// backlog.
    fn commit(&self, next: Cursor) -> crate::Result<()> {
        save_cursor(&self.dir, &next)?;
        let mut inner = Inner::lock(&self.inner)?;
        (inner.cursor, inner.unsaved) = (next, false);
        Ok(())
    }

    /// Past a sealed segment forwarded whole, the cursor moves to the next segment and the
    /// file goes (the cursor is saved first: a crash in between leaves a file `open` deletes).
    fn leave_forwarded(&self) -> crate::Result<()> {
        loop {
            let Some((done, next)) = Inner::lock(&self.inner)?.forwarded_segment() else { return Ok(()) };
            self.commit(next)?;
            Inner::lock(&self.inner)?.segments.remove(&done);
            let path = segment_path(&self.dir, done);
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("spool {}: forwarded, not deleted: {e}", path.display());
            }
        }
    }
}

/// The generations of the segment files in `dir`.
fn segment_generations(dir: &Path) -> crate::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let name = entry.map_err(|e| io_err(dir, e))?.file_name();
        let generation =
            name.to_str().and_then(|n| n.strip_prefix("events-")?.strip_suffix(".jsonl")?.parse::<u64>().ok());
        found.extend(generation);
    }
    Ok(found)
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
    let text = serde_json::to_vec(cursor).map_err(|e| crate::Error::Failed(e.to_string()))?;
    crate::files::write_durable(&dir.join("cursor.json"), &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ErrorEvent;
    use std::io::Write;

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
        assert_eq!(spool.backlog(), 0);
    }

    #[tokio::test]
    async fn an_ack_is_saved_with_the_next_batch_and_a_crash_before_resends_the_same_batch() {
        let dir = tempfile::tempdir().unwrap();
        let cursor = || fs::read_to_string(dir.path().join("cursor.json")).unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.append(&(0..6).map(rec).collect::<Vec<_>>()).await.unwrap();
        let first = spool.next_batch(3).unwrap().unwrap();
        let on_disk = cursor();
        spool.ack(&first).unwrap();
        assert_eq!(cursor(), on_disk, "the ack waits for the next batch's write");
        drop(spool);
        // A crash there: the acked batch comes back whole, under its id (counted once).
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let again = spool.next_batch(100).unwrap().unwrap();
        assert_eq!((again.id(), ids(&again.records)), (first.id(), ids(&first.records)));
        spool.ack(&again).unwrap();
        let second = spool.next_batch(100).unwrap().unwrap();
        let saved: Cursor = serde_json::from_str(&cursor()).unwrap();
        assert_eq!(saved, Cursor { generation: 0, acked: first.end, pending: Some(second.end) }, "one write for both");
        spool.ack(&second).unwrap();
        assert!(spool.next_batch(100).unwrap().is_none());
        drop(spool);
        // Nothing left to send: that round saved the ack alone, and nothing comes back.
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert!(spool.next_batch(100).unwrap().is_none());
        assert_eq!(spool.backlog(), 0);
    }

    fn spool_bytes(dir: &Path) -> u64 {
        segment_generations(dir).unwrap().into_iter().map(|g| fs::metadata(segment_path(dir, g)).unwrap().len()).sum()
    }

    fn ids(records: &[Record]) -> Vec<String> {
        let id = |r: &Record| match r {
            Record::Event { event, .. } => event.id.clone().unwrap_or_default(),
            Record::Feedback { feedback, .. } => feedback.id.clone(),
            Record::Alert { .. } => String::new(),
        };
        records.iter().map(id).collect()
    }

    #[tokio::test]
    async fn steady_traffic_keeps_the_disk_bounded_and_forwards_everything_once_in_order() {
        // Events keep arriving while each batch is out, so the forwarder never finds the
        // spool empty: a single file emptied only then grew with every event ever spooled.
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open_with(dir.path(), 1 << 20, 4096).unwrap();
        let (mut sent, mut forwarded, mut batch_ids, mut largest) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for round in 0..300 {
            let records: Vec<Record> = (round * 3..round * 3 + 3).map(rec).collect();
            sent.extend(ids(&records));
            spool.append(&records).await.unwrap();
            let Some(batch) = spool.next_batch(4).unwrap() else { continue };
            spool.append(&[rec(100_000 + round)]).await.unwrap();
            sent.push(format!("id{}", 100_000 + round));
            forwarded.extend(ids(&batch.records));
            batch_ids.push(batch.id());
            spool.ack(&batch).unwrap();
            largest = largest.max(spool_bytes(dir.path()));
        }
        while let Some(batch) = spool.next_batch(100).unwrap() {
            forwarded.extend(ids(&batch.records));
            batch_ids.push(batch.id());
            spool.ack(&batch).unwrap();
        }
        assert_eq!(forwarded, sent, "every event forwarded exactly once, in the order spooled");
        let unique: std::collections::HashSet<_> = batch_ids.iter().collect();
        assert_eq!(unique.len(), batch_ids.len(), "batch ids never repeat across segments");
        let written: usize = sent.len() * serde_json::to_vec(&rec(100_000)).unwrap().len();
        assert!(written > 40_000, "the test spools far more than a segment ({written} bytes)");
        assert!(largest < 3 * 4096 + 1024, "the disk held {largest} bytes at most, not all {written}");
        assert!(segment_generations(dir.path()).unwrap().len() <= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_forwarder_reads_while_requests_append_and_forwards_each_record_once() {
        // The forwarder reads, parses and saves the cursor without the lock while requests
        // append and the writer starts new segments: nothing lost, nothing twice, each
        // sender's records in its order.
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open_with(dir.path(), 1 << 22, 4096).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let forwarder = std::thread::spawn({
            let (spool, done) = (spool.clone(), done.clone());
            move || {
                let (mut got, mut generations) = (Vec::new(), std::collections::BTreeSet::new());
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    match spool.next_batch(7).unwrap() {
                        Some(batch) => {
                            got.extend(ids(&batch.records));
                            generations.insert(batch.generation);
                            spool.ack(&batch).unwrap();
                        }
                        None if finished => return (got, generations),
                        None => std::thread::yield_now(),
                    }
                }
            }
        });
        let mut senders = tokio::task::JoinSet::new();
        for sender in 0..8 {
            let spool = spool.clone();
            senders.spawn(async move {
                for i in 0..100 {
                    spool.append(&[rec(sender * 1000 + i)]).await.unwrap();
                }
            });
        }
        while let Some(r) = senders.join_next().await {
            r.unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let (got, generations) = forwarder.join().unwrap();
        assert_eq!(got.len(), 800, "every record forwarded once");
        assert_eq!(got.iter().collect::<std::collections::HashSet<_>>().len(), 800, "none twice");
        for sender in 0..8 {
            let mine: Vec<usize> = got
                .iter()
                .filter_map(|id| id.strip_prefix("id")?.parse::<usize>().ok())
                .filter(|n| n / 1000 == sender)
                .collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "sender {sender} out of order: {mine:?}");
        }
        assert!(generations.len() > 3, "the writer started new segments meanwhile: {generations:?}");
        assert_eq!(spool.backlog(), 0);
    }

    #[tokio::test]
    async fn a_crash_between_the_cursor_and_the_delete_and_the_old_single_file_are_both_read_right() {
        let dir = tempfile::tempdir().unwrap();
        // A spool of an earlier version: one file, a cursor at generation 7, two of three
        // records forwarded.
        let line = |i| format!("{}\n", serde_json::to_string(&rec(i)).unwrap());
        let text: String = (0..3).map(line).collect();
        fs::write(dir.path().join("events.jsonl"), &text).unwrap();
        let acked = (line(0).len() + line(1).len()) as u64;
        save_cursor(dir.path(), &Cursor { generation: 7, acked, pending: None }).unwrap();
        // And a forwarded segment a crash left behind.
        fs::write(segment_path(dir.path(), 6), line(9)).unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.append(&[rec(3)]).await.unwrap();
        let mut generations = segment_generations(dir.path()).unwrap();
        generations.sort();
        assert_eq!(generations, vec![7, 8], "the old file sealed, new events in the next generation");
        let batch = spool.next_batch(10).unwrap().unwrap();
        assert_eq!((batch.generation, batch.start, ids(&batch.records)), (7, acked, vec!["id2".to_string()]));
        spool.ack(&batch).unwrap();
        let batch = spool.next_batch(10).unwrap().unwrap();
        assert_eq!(
            (batch.id(), ids(&batch.records)),
            ("g8-0-".to_string() + &batch.end.to_string(), vec!["id3".to_string()])
        );
        assert_eq!(segment_generations(dir.path()).unwrap(), vec![8], "the old file deleted once forwarded");
    }

    #[tokio::test]
    async fn torn_lines_are_cut_and_a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 300).unwrap();
        spool.append(&[rec(1)]).await.unwrap();
        let mut f = OpenOptions::new().append(true).open(segment_path(dir.path(), 0)).unwrap();
        f.write_all(b"{\"kind\":\"ev").unwrap();
        drop((f, spool));
        let spool = Spool::open(dir.path(), 300).unwrap();
        assert_eq!(spool.next_batch(10).unwrap().unwrap().records, vec![rec(1)]);
        let many: Vec<Record> = (0..10).map(rec).collect();
        assert!(matches!(spool.append(&many).await, Err(RelayError::Unavailable(_))));
    }
}
