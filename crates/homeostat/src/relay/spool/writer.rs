//! The spool's writer thread: group commit of appended records (every request waiting, one
//! write, one fsync, then every answer), and the segment hand-over when one is full.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::{Inner, segment_path};
use crate::relay::RelayError;

/// The writer thread's own end: the segment it appends to.
pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) file: File,
    pub(super) generation: u64,
    pub(super) len: u64,
    pub(super) segment_bytes: u64,
}

pub(super) type Request = (Vec<u8>, oneshot::Sender<Result<(), RelayError>>);

impl Writer {
    /// Writes and fsyncs `buf`; on failure cuts off whatever part was written, so lines stay whole.
    fn append(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let written = self.file.write_all(buf).and_then(|_| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// Past its size, starts the next segment; the next generation is on disk before it
    /// is announced, and the sealed one is never written again.
    fn rotate_if_full(&mut self, inner: &Mutex<Inner>) -> std::io::Result<()> {
        if self.len < self.segment_bytes {
            return Ok(());
        }
        let next = self.generation + 1;
        let path = segment_path(&self.dir, next);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.sync_all()?;
        crate::files::sync_dir(&self.dir);
        (self.file, self.generation, self.len) = (file, next, 0);
        if let Ok(mut inner) = inner.lock() {
            inner.segments.insert(next, 0);
        }
        Ok(())
    }
}

/// The writer gives way to the HTTP workers: woken by a request, it does not preempt them
/// (Linux's `SCHED_BATCH`) but runs when they wait or their time slice ends, so the
/// requests they take in meanwhile share its next fsync. Pinned to one core: 15 % to 41 %
/// more events/s (by the host's load) and a lower p99 (docs/relay.md, session 13).
/// Elsewhere a no-op.
fn give_way_to_workers() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sets the calling thread's policy (pid 0); `param` is a valid sched_param
        // with the only priority SCHED_BATCH takes.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0 {
            tracing::debug!("spool writer: SCHED_BATCH refused: {}", std::io::Error::last_os_error());
        }
    }
}

/// Group commit: takes every request waiting, writes them, one fsync, then answers all.
/// The lock is held only to admit and to publish, not across the fsync, so the forwarder
/// reads and acknowledges meanwhile.
pub(super) fn write_loop(inner: Arc<Mutex<Inner>>, mut writer: Writer, mut rx: mpsc::Receiver<Request>) {
    give_way_to_workers();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let (mut buf, mut answers) = (Vec::new(), Vec::new());
        {
            let Ok(inner) = inner.lock() else { return };
            let mut backlog = inner.backlog();
            for (bytes, done) in batch {
                if backlog + bytes.len() as u64 > inner.max_bytes {
                    let _ = done.send(Err(RelayError::Unavailable(format!(
                        "the spool is full ({backlog} bytes waiting to be forwarded)"
                    ))));
                    continue;
                }
                backlog += bytes.len() as u64;
                buf.extend_from_slice(&bytes);
                answers.push(done);
            }
        }
        if answers.is_empty() {
            continue;
        }
        match writer.append(&buf) {
            Ok(()) => {
                let Ok(mut shared) = inner.lock() else { return };
                shared.segments.insert(writer.generation, writer.len);
                drop(shared);
                answers.into_iter().for_each(|d| drop(d.send(Ok(()))));
            }
            Err(e) => {
                tracing::error!("spool write failed: {e}");
                let msg = format!("the spool cannot be written: {e}");
                answers.into_iter().for_each(|d| drop(d.send(Err(RelayError::Unavailable(msg.clone())))));
            }
        }
        if let Err(e) = writer.rotate_if_full(&inner) {
            tracing::error!("spool: starting the next segment failed, writing on: {e}");
        }
    }
}
