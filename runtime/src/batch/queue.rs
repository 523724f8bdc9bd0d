//! The queue between the threads that hand spans to a batch export and the
//! threads that export them: batches leave in order (with one export thread
//! they are also done in order), a flush is answered once every batch
//! before it is done, and the queue holds at most `max_queue_size` spans; a
//! full batch that does not fit is dropped (its spans were counted as
//! offered, and show as unaccounted).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::timeout::deadline_after;

/// A batch as the queue sees it: the spans it holds count against the
/// queue's bound.
pub(crate) trait SpanCount {
    fn span_count(&self) -> usize;
}

pub(crate) struct Queue<B> {
    jobs: Mutex<Jobs<B>>,
    changed: Condvar,
    max_spans: usize,
}

struct Jobs<B> {
    queue: VecDeque<Job<B>>,
    queued_spans: usize,
    /// Batches taken by export threads and not done yet: a flush at the
    /// front of the queue waits for them.
    exporting: usize,
    stopping: bool,
}

enum Job<B> {
    Export { batch: B, spans: usize },
    Flush(mpsc::Sender<()>),
}

/// What the export thread does next.
enum Next<B> {
    /// Export this batch.
    Export(B),
    /// A flush, whose batches before it are done: answer it (once what the
    /// exporter itself buffers is flushed, if anything).
    Flush(Flushed),
    /// The deadline passed with nothing queued: export what is being built
    /// (counted as exporting until the export thread says it is done).
    Due,
    /// Shutting down, and nothing is left in the queue.
    Stopped,
}

/// A flush waiting for its answer.
struct Flushed(mpsc::Sender<()>);

impl Flushed {
    fn answer(self) {
        // The flush may have stopped waiting (timed out); nothing to tell.
        let _ = self.0.send(());
    }
}

impl<B: SpanCount> Queue<B> {
    pub(crate) fn new(max_spans: usize) -> Self {
        Queue {
            jobs: Mutex::new(Jobs {
                queue: VecDeque::new(),
                queued_spans: 0,
                exporting: 0,
                stopping: false,
            }),
            changed: Condvar::new(),
            max_spans,
        }
    }

    /// Queues a full batch; hands it back when it does not fit or the
    /// export has stopped (its spans are lost: offered, never exported).
    pub(crate) fn push(&self, batch: B) -> Result<(), B> {
        let spans = batch.span_count();
        let mut jobs = self.lock();
        if jobs.stopping || jobs.queued_spans + spans > self.max_spans {
            return Err(batch);
        }
        jobs.queued_spans += spans;
        jobs.queue.push_back(Job::Export { batch, spans });
        drop(jobs);
        self.changed.notify_all();
        Ok(())
    }

    /// Queues `partial`, the batch being built (a flush never drops: the
    /// queue may go one batch over), and waits, at most `timeout`, until
    /// the export threads have done everything queued before.
    pub(crate) fn flush(&self, partial: Option<B>, timeout: Duration) -> OTelSdkResult {
        let (done, finished) = mpsc::channel();
        {
            let mut jobs = self.lock();
            if jobs.stopping {
                return Ok(());
            }
            if let Some(batch) = partial {
                let spans = batch.span_count();
                jobs.queued_spans += spans;
                jobs.queue.push_back(Job::Export { batch, spans });
            }
            jobs.queue.push_back(Job::Flush(done));
        }
        self.changed.notify_all();
        match finished.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }

    /// Shuts the export down within `timeout`: `flush` is given nine
    /// tenths of it (at most `export_timeout`), then the queue stops, which
    /// ends every retry waiting at once, and the export thread (`worker`,
    /// as for [`join_within`]) is joined in what is left. A flush given all
    /// of it, when it timed out, left no time to see the thread end.
    pub(crate) fn shut_down<T>(
        &self,
        flush: impl FnOnce(Duration) -> OTelSdkResult,
        worker: Option<(JoinHandle<()>, mpsc::Receiver<T>)>,
        export_timeout: Duration,
        timeout: Duration,
    ) -> OTelSdkResult {
        let started = Instant::now();
        let flushed = flush(export_timeout.min(timeout - timeout / 10));
        self.stop();
        if let Some((thread, ended)) = worker {
            let left = timeout.saturating_sub(started.elapsed());
            join_within(thread, &ended, left).map_err(|_| OTelSdkError::Timeout(timeout))?;
        }
        flushed
    }

    /// Tells the export threads to end once the queue is empty, and the
    /// retries they are waiting on to give up.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.changed.notify_all();
    }

    /// An export thread's loop, until the queue is stopped and empty:
    /// `export`s queued batches in order, and, on the thread given a
    /// `schedule_delay` (one of them), what `take_partial` gives once that
    /// delay passed with nothing queued; `before_answer` runs before a
    /// flush is answered (the exporter's own flush).
    pub(crate) fn serve(
        &self,
        schedule_delay: Option<Duration>,
        mut take_partial: impl FnMut() -> Option<B>,
        mut export: impl FnMut(B),
        mut before_answer: impl FnMut(),
    ) {
        let mut due = schedule_delay.map(deadline_after);
        loop {
            match self.next(due) {
                Next::Export(batch) => {
                    let _done = Exporting(self);
                    export(batch);
                }
                Next::Flush(flushed) => {
                    before_answer();
                    flushed.answer();
                }
                Next::Due => {
                    let _done = Exporting(self);
                    due = schedule_delay.map(deadline_after);
                    if let Some(batch) = take_partial() {
                        export(batch);
                    }
                }
                Next::Stopped => return,
            }
        }
    }

    /// The next job, waiting for one at most until `deadline` (without one,
    /// until there is a job). A flush is taken once no batch before it is
    /// still exporting.
    fn next(&self, deadline: Option<Instant>) -> Next<B> {
        let mut jobs = self.lock();
        loop {
            let flush_waits =
                jobs.exporting > 0 && matches!(jobs.queue.front(), Some(Job::Flush(_)));
            if !flush_waits {
                match jobs.queue.pop_front() {
                    Some(Job::Export { batch, spans }) => {
                        jobs.queued_spans -= spans;
                        jobs.exporting += 1;
                        return Next::Export(batch);
                    }
                    Some(Job::Flush(done)) => return Next::Flush(Flushed(done)),
                    None if jobs.stopping => return Next::Stopped,
                    None => {}
                }
            }
            // Nothing to take yet: an empty queue, or a flush waiting for
            // exports on other threads.
            jobs = match deadline {
                None => self
                    .changed
                    .wait(jobs)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => match self.wait_until(jobs, deadline) {
                    Some(waited) => waited,
                    None => {
                        // Counted before the batch being built is taken, so
                        // that a flush queued meanwhile waits for it.
                        self.lock().exporting += 1;
                        return Next::Due;
                    }
                },
            };
        }
    }

    /// An export thread is done with a batch (also when its export
    /// panicked).
    fn done_exporting(&self) {
        let mut jobs = self.lock();
        jobs.exporting -= 1;
        let idle = jobs.exporting == 0;
        drop(jobs);
        if idle {
            self.changed.notify_all();
        }
    }

    /// Waits `wait`, or less if the export is stopping; says whether it
    /// waited it all.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn wait_unless_stopping(&self, wait: Duration) -> bool {
        let deadline = deadline_after(wait);
        let mut jobs = self.lock();
        while !jobs.stopping {
            match self.wait_until(jobs, deadline) {
                Some(waited) => jobs = waited,
                None => return true,
            }
        }
        false
    }

    /// Waits for a change to the jobs, at most until `deadline`; `None`
    /// once it has passed.
    fn wait_until<'a>(
        &self,
        jobs: MutexGuard<'a, Jobs<B>>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, Jobs<B>>> {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        Some(
            self.changed
                .wait_timeout(jobs, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0,
        )
    }

    fn lock(&self) -> MutexGuard<'_, Jobs<B>> {
        lock(&self.jobs)
    }
}

/// A batch being exported: done when dropped.
struct Exporting<'a, B: SpanCount>(&'a Queue<B>);

impl<B: SpanCount> Drop for Exporting<'_, B> {
    fn drop(&mut self) {
        self.0.done_exporting();
    }
}

/// Waits, at most `timeout`, for an export thread to end, which `ended`
/// tells by disconnecting (the thread owns the sending half and sends
/// nothing more); then joins it.
fn join_within<T>(
    thread: JoinHandle<()>,
    ended: &mpsc::Receiver<T>,
    timeout: Duration,
) -> OTelSdkResult {
    match ended.recv_timeout(timeout) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = thread.join();
            Ok(())
        }
        _ => Err(OTelSdkError::Timeout(timeout)),
    }
}

/// Locks, taking over a lock whose holder panicked: the data behind these
/// locks stays consistent between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A named batch of so many spans.
    type Named = (&'static str, usize);

    impl SpanCount for Named {
        fn span_count(&self) -> usize {
            self.1
        }
    }

    #[test]
    fn batches_leave_in_order_and_a_full_queue_hands_the_batch_back() {
        let queue = Queue::new(10);
        assert!(queue.push(("a", 6)).is_ok());
        assert_eq!(
            queue.push(("b", 6)),
            Err(("b", 6)),
            "6 + 6 spans over a bound of 10"
        );
        assert!(queue.push(("c", 4)).is_ok());
        let deadline = Some(Instant::now());
        assert!(matches!(queue.next(deadline), Next::Export(("a", _))));
        assert!(queue.push(("d", 6)).is_ok(), "room again once `a` left");
        assert!(matches!(queue.next(deadline), Next::Export(("c", _))));
        assert!(matches!(queue.next(deadline), Next::Export(("d", _))));
        assert!(matches!(queue.next(deadline), Next::Due));
        queue.stop();
        assert_eq!(queue.push(("e", 1)), Err(("e", 1)), "stopped");
        assert!(matches!(queue.next(deadline), Next::Stopped));
    }

    #[test]
    fn a_flush_queues_its_partial_batch_even_over_the_bound_and_waits_for_it() {
        let queue = Arc::new(Queue::new(4));
        assert!(queue.push(("full", 4)).is_ok());
        let exporter = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                let far = Some(Instant::now() + Duration::from_secs(30));
                let mut exported = Vec::new();
                loop {
                    match queue.next(far) {
                        Next::Export((name, _)) => {
                            exported.push(name);
                            queue.done_exporting();
                        }
                        Next::Flush(flushed) => {
                            flushed.answer();
                            return exported;
                        }
                        Next::Due | Next::Stopped => return exported,
                    }
                }
            })
        };
        queue
            .flush(Some(("partial", 3)), Duration::from_secs(30))
            .expect("answered");
        assert_eq!(exporter.join().unwrap(), ["full", "partial"]);
    }

    #[test]
    fn with_two_export_threads_a_flush_waits_for_the_batch_the_other_is_exporting() {
        let queue = Arc::new(Queue::new(10));
        assert!(queue.push(("slow", 1)).is_ok());
        let (taken, slow_taken) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let (exported, in_order) = mpsc::channel();
        let slow_thread = {
            let queue = Arc::clone(&queue);
            let exported = exported.clone();
            std::thread::spawn(move || {
                let Next::Export((name, _)) = queue.next(None) else {
                    panic!("the queued batch");
                };
                taken.send(()).unwrap();
                released.recv().unwrap();
                exported.send(name).unwrap();
                queue.done_exporting();
            })
        };
        slow_taken.recv().unwrap();
        let flush = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.flush(Some(("partial", 1)), Duration::from_secs(30)))
        };
        let other_thread = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                loop {
                    match queue.next(None) {
                        Next::Export((name, _)) => {
                            exported.send(name).unwrap();
                            queue.done_exporting();
                        }
                        Next::Flush(flushed) => {
                            exported.send("flush answered").unwrap();
                            flushed.answer();
                            return;
                        }
                        Next::Due | Next::Stopped => panic!("no deadline, not stopped"),
                    }
                }
            })
        };
        // The other thread exports the partial batch queued behind `slow`,
        // then holds the flush until `slow` is done.
        assert_eq!(in_order.recv().unwrap(), "partial");
        release.send(()).unwrap();
        flush.join().unwrap().expect("answered");
        slow_thread.join().unwrap();
        other_thread.join().unwrap();
        let rest: Vec<_> = in_order.try_iter().collect();
        assert_eq!(rest, ["slow", "flush answered"]);
    }

    #[test]
    fn an_unanswered_flush_times_out_and_a_stopped_queue_flushes_nothing() {
        let queue: Queue<Named> = Queue::new(4);
        let timeout = Duration::from_millis(20);
        assert!(matches!(
            queue.flush(None, timeout),
            Err(OTelSdkError::Timeout(_))
        ));
        queue.stop();
        assert!(queue.flush(None, timeout).is_ok());
    }
}
