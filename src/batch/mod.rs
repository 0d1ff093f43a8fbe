//! Batches: the same plan across many repositories.
//!
//! [`file`] reads the batch file (which repositories, with which plan variables),
//! [`report`] keeps the per-repository results that `--only failed|pending` reruns from,
//! [`shard`] splits a batch across machines and merges the shards' reports,
//! and [`run_parallel`] runs one closure per repository on a bounded pool of threads. What
//! runs for each repository is the single-repository code path, called by the command line;
//! nothing here plans or applies anything.

pub mod file;
pub mod report;
pub mod shard;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

pub use file::{BatchError, BatchFile, Location, RepoEntry};
pub use report::{Only, RepoReport, RepoResult, Report};

/// Runs `work` on every item, at most `jobs` at a time, each on its own thread, and hands
/// each result to `done` on the calling thread as soon as it is ready (in completion
/// order). A panic in one item's work becomes `Err(message)` for that item; the others go
/// on.
pub fn run_parallel<T, R>(
    items: &[T],
    jobs: usize,
    work: impl Fn(usize, &T) -> R + Sync,
    mut done: impl FnMut(usize, Result<R, String>),
) where
    T: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let workers = jobs.clamp(1, items.len().max(1));
    let (tx, rx) = mpsc::channel::<(usize, Result<R, String>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result =
                        catch_unwind(AssertUnwindSafe(|| work(i, item))).map_err(panic_message);
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            done(i, result);
        }
    });
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("internal error (panic): {text}")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_item_runs_once_within_the_bound() {
        let items: Vec<usize> = (0..20).collect();
        let running = AtomicUsize::new(0);
        let peak = Mutex::new(0);
        let mut seen = vec![0; items.len()];
        run_parallel(
            &items,
            3,
            |i, item| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                {
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(now);
                }
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                assert_eq!(i, *item);
                item * 2
            },
            |i, r| {
                assert_eq!(r.unwrap(), i * 2);
                seen[i] += 1;
            },
        );
        assert!(seen.iter().all(|n| *n == 1), "{seen:?}");
        let peak = *peak.lock().unwrap();
        assert!((1..=3).contains(&peak), "peak {peak}");
    }

    #[test]
    fn a_panic_is_reported_for_its_item_only() {
        let items = ["a", "boom", "c"];
        let mut results = vec![None; 3];
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        run_parallel(
            &items,
            2,
            |_, item| {
                assert_ne!(*item, "boom", "this repository is broken");
                item.to_uppercase()
            },
            |i, r| results[i] = Some(r),
        );
        std::panic::set_hook(hook);
        assert_eq!(results[0], Some(Ok("A".to_string())));
        assert_eq!(results[2], Some(Ok("C".to_string())));
        let err = results[1].clone().unwrap().unwrap_err();
        assert!(err.contains("this repository is broken"), "{err}");
    }
}
