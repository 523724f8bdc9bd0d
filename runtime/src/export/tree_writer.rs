//! The thread that writes the terminal exporter's drawn trees. The
//! exporter runs on the collector thread, which hands every export its
//! spans: a terminal that is slow or blocked (a pipe nobody reads, a
//! container log driver that waits) must not hold it, or the other exports
//! (`OTEL_TRACES_EXPORTER=otlp,console`) would lose spans to full rings
//! while it waits. Drawn trees queue here, bounded by their size; beyond
//! that they are counted and said to be missing, and a flush waits for the
//! writes within a deadline instead of for ever.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Drawn trees waiting to be written, at most (a tree of 10,000 spans is
/// about 1 MiB); one tree is always taken when none waits.
const MAX_QUEUED_BYTES: usize = 4 << 20;

/// Writes drawn trees in the order they were sent, on its own thread.
pub(super) struct TreeWriter {
    shared: Arc<Shared>,
    /// No thread could be started: trees are written by their sender.
    inline: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a tree is queued, written, or the writer closes.
    changed: Condvar,
    out: Mutex<Box<dyn Write + Send>>,
}

struct Queue {
    drawn: VecDeque<String>,
    bytes: usize,
    max_bytes: usize,
    /// A tree is being written (taken off the queue, not yet out).
    writing: bool,
    /// Trees not queued because the writer was behind, not yet reported.
    skipped: u64,
    /// The last write's failure, for the next sender or flush.
    failed: Option<io::Error>,
    closed: bool,
}

impl TreeWriter {
    /// Starts the writing thread for `out`.
    pub(super) fn start(out: Box<dyn Write + Send>) -> TreeWriter {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                drawn: VecDeque::new(),
                bytes: 0,
                max_bytes: MAX_QUEUED_BYTES,
                writing: false,
                skipped: 0,
                failed: None,
                closed: false,
            }),
            changed: Condvar::new(),
            out: Mutex::new(out),
        });
        let writing = Arc::clone(&shared);
        let started = thread::Builder::new()
            .name("spanflow-terminal-writer".into())
            .spawn(move || write_queued(&writing));
        TreeWriter {
            shared,
            inline: started.is_err(),
        }
    }

    #[cfg(test)]
    pub(super) fn with_max_queued_bytes(self, bytes: usize) -> TreeWriter {
        self.shared.lock_queue().max_bytes = bytes;
        self
    }

    /// Queues `drawn` for writing, or counts it as skipped when the trees
    /// waiting already fill the queue. Fails with the last write's error.
    pub(super) fn send(&self, drawn: String) -> io::Result<()> {
        if self.inline {
            return write_tree(&mut self.shared.lock_out(), &drawn);
        }
        let mut queue = self.shared.lock_queue();
        if let Some(error) = queue.failed.take() {
            return Err(error);
        }
        if !queue.drawn.is_empty() && queue.bytes + drawn.len() > queue.max_bytes {
            queue.skipped += 1;
            return Ok(());
        }
        queue.bytes += drawn.len();
        queue.drawn.push_back(drawn);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Waits until every tree sent so far is written, at most `timeout`.
    pub(super) fn wait_written(&self, timeout: Duration) -> io::Result<()> {
        let deadline = crate::timeout::deadline_after(timeout);
        let mut queue = self.shared.lock_queue();
        while !queue.drawn.is_empty() || queue.writing || queue.skipped > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the output took no more for {timeout:?}: {} trees wait to be written",
                        queue.drawn.len()
                    ),
                ));
            }
            queue = self
                .shared
                .changed
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.failed.take().map_or(Ok(()), Err)
    }
}

impl Drop for TreeWriter {
    /// The thread writes what is queued, then ends.
    fn drop(&mut self) {
        self.shared.lock_queue().closed = true;
        self.shared.changed.notify_all();
    }
}

impl Shared {
    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_out(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writing thread: takes the queued trees one at a time and writes
/// each without holding the queue, so senders never wait for the output.
fn write_queued(shared: &Shared) {
    loop {
        let next = {
            let mut queue = shared.lock_queue();
            loop {
                if let Some(drawn) = queue.drawn.pop_front() {
                    queue.bytes -= drawn.len();
                    queue.writing = true;
                    break drawn;
                }
                if queue.skipped > 0 {
                    let skipped = std::mem::take(&mut queue.skipped);
                    queue.writing = true;
                    break format!("({skipped} traces not drawn: the output fell behind)");
                }
                if queue.closed {
                    return;
                }
                queue = shared
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // A writer given in code may panic; the thread goes on, and the
        // panic is reported as the write's failure.
        let written = catch_unwind(AssertUnwindSafe(|| {
            write_tree(&mut shared.lock_out(), &next)
        }))
        .unwrap_or_else(|_| Err(io::Error::other("the output's writer panicked")));
        let mut queue = shared.lock_queue();
        queue.writing = false;
        if let Err(error) = written {
            queue.failed = Some(error);
        }
        shared.changed.notify_all();
    }
}

fn write_tree(out: &mut Box<dyn Write + Send>, drawn: &str) -> io::Result<()> {
    out.write_all(drawn.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A writer that says when it is first given something, then takes
    /// nothing until released (or its deadline, so that a test that
    /// fails cannot hang), and records what it was given.
    struct Held {
        started: mpsc::Sender<()>,
        release: mpsc::Receiver<()>,
        deadline: Instant,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Held {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _ = self.started.send(());
            // Waits for a release, for its sender to be gone, or the deadline.
            let left = self.deadline.saturating_duration_since(Instant::now());
            let _ = self.release.recv_timeout(left);
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_holds_no_sender_and_bounds_what_waits() {
        let (started, writing) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let writer = TreeWriter::start(Box::new(Held {
            started,
            release: released,
            deadline: Instant::now() + Duration::from_secs(10),
            written: Arc::clone(&written),
        }))
        .with_max_queued_bytes(100);
        assert!(!writer.inline);

        let tree = |n: usize| format!("tree {n:02} {}", "-".repeat(32));
        writer.send(tree(0)).unwrap();
        writing
            .recv_timeout(Duration::from_secs(10))
            .expect("the first tree is being written");
        for n in 1..50 {
            // Returns at once although the output takes nothing.
            writer.send(tree(n)).unwrap();
        }
        let timed_out = writer.wait_written(Duration::from_millis(50)).unwrap_err();
        assert_eq!(timed_out.kind(), io::ErrorKind::TimedOut, "{timed_out}");
        assert!(
            timed_out.to_string().contains("2 trees wait"),
            "{timed_out}"
        );

        drop(release);
        writer.wait_written(Duration::from_secs(10)).unwrap();
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let trees: Vec<&str> = written
            .lines()
            .filter(|line| line.starts_with("tree"))
            .collect();
        // The one being written, and the two more that fit in 100 bytes.
        assert_eq!(trees, [tree(0), tree(1), tree(2)], "{written}");
        assert!(
            written.ends_with("(47 traces not drawn: the output fell behind)\n"),
            "{written}"
        );
    }

    #[test]
    fn a_panicking_writer_fails_its_write_and_the_thread_goes_on() {
        struct Panicking(bool);
        impl Write for Panicking {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, false) {
                    panic!("a writer given in code panics once");
                }
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let writer = TreeWriter::start(Box::new(Panicking(true)));
        writer.send("tree".into()).unwrap();
        let failed = writer.wait_written(Duration::from_secs(10)).unwrap_err();
        assert!(failed.to_string().contains("panicked"), "{failed}");
        writer.send("tree".into()).unwrap();
        writer.wait_written(Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn a_failed_write_is_reported_to_the_next_sender() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let writer = TreeWriter::start(Box::new(Broken));
        writer.send("tree".into()).unwrap();
        let failed = writer.wait_written(Duration::from_secs(10)).unwrap_err();
        assert_eq!(
            failed.kind(),
            io::ErrorKind::BrokenPipe,
            "the flush hears of it"
        );

        writer.send("tree".into()).unwrap();
        let mut queue = writer.shared.lock_queue();
        while queue.failed.is_none() {
            queue = writer.shared.changed.wait(queue).unwrap();
        }
        drop(queue);
        let failed = writer.send("tree".into()).unwrap_err();
        assert_eq!(
            failed.kind(),
            io::ErrorKind::BrokenPipe,
            "the next sender hears of it"
        );
    }
}
