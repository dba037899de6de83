//! Per-unit work shared out over the machine's cores, its results in the
//! order of the units: the same inputs give the same results, in the same
//! order, on any number of threads.

use std::num::NonZeroUsize;

/// How many threads share the per-unit work of a run (the instances of a
/// `write`, `diff` or score).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    /// As many as the process may run at once (`available_parallelism`,
    /// which heeds CPU affinity and cgroup quotas), at most
    /// [`Threads::MAX`], where the work is large enough to gain: at least
    /// [`Threads::PER_THREAD`] units a thread.
    #[default]
    Machine,
    /// Exactly this many (at most one a unit), however little the work:
    /// for tests, and to measure one thread.
    Exactly(NonZeroUsize),
}

impl Threads {
    /// The most threads [`Threads::Machine`] starts.
    pub const MAX: usize = 8;
    /// The fewest units a thread of [`Threads::Machine`] takes: starting
    /// a thread and its own caches costs about what a few units do.
    pub const PER_THREAD: usize = 32;

    /// One thread: the work in order on the calling thread.
    pub const ONE: Threads = Threads::Exactly(NonZeroUsize::MIN);

    /// How many threads share `units` units.
    fn for_units(self, units: usize) -> usize {
        let wanted = match self {
            Threads::Machine => std::thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .min(Self::MAX)
                .min(units / Self::PER_THREAD),
            Threads::Exactly(n) => n.get(),
        };
        wanted.min(units).max(1)
    }
}

/// What `run` gives for every item, in the order of `items`: the items
/// cut into consecutive runs, one a thread (the calling thread takes the
/// first), `run` called once for each run and giving one result an item
/// (what it keeps from item to item, it makes on its own thread). Where a
/// thread cannot be started its run is done on the calling thread.
pub(crate) fn runs<T, R>(
    items: &[T],
    threads: Threads,
    run: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let n = threads.for_units(items.len());
    if n <= 1 {
        return run(items);
    }
    let run = &run;
    let mut parts = items.chunks(items.len().div_ceil(n));
    let first = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let started: Vec<_> = parts
            .map(|part| {
                let thread = std::thread::Builder::new().spawn_scoped(scope, move || run(part));
                (part, thread)
            })
            .collect();
        let mut out = run(first);
        for (part, thread) in started {
            match thread {
                Ok(thread) => match thread.join() {
                    Ok(done) => out.extend(done),
                    // The worker's own panic, not a new one.
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(_) => out.extend(run(part)),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exactly(n: usize) -> Threads {
        Threads::Exactly(NonZeroUsize::new(n).unwrap())
    }

    #[test]
    fn every_split_gives_the_results_in_order() {
        for len in 0..40 {
            let items: Vec<usize> = (0..len).collect();
            let want: Vec<usize> = items.iter().map(|i| i * 3).collect();
            for n in 1..=9 {
                let got = runs(&items, exactly(n), |part| {
                    part.iter().map(|i| i * 3).collect()
                });
                assert_eq!(got, want, "{len} items on {n} threads");
            }
        }
    }

    #[test]
    fn each_run_has_its_own_state_on_its_own_thread() {
        let items: Vec<usize> = (0..10).collect();
        // Each run counts the items it has seen and names its thread.
        let got = runs(&items, exactly(3), |part| {
            let made = std::thread::current().id();
            part.iter()
                .enumerate()
                .map(|(seen, _)| (seen + 1, made, std::thread::current().id()))
                .collect()
        });
        let seen: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(seen, [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
        assert!(got.iter().all(|(_, made, ran)| made == ran));
        let here = std::thread::current().id();
        assert!(got[..4].iter().all(|g| g.2 == here));
        assert!(got[4..].iter().all(|g| g.2 != here));
        assert_ne!(got[4].2, got[8].2);
    }

    #[test]
    fn the_machine_setting_keeps_small_work_on_one_thread() {
        assert_eq!(Threads::Machine.for_units(0), 1);
        assert_eq!(Threads::Machine.for_units(Threads::PER_THREAD * 2 - 1), 1);
        assert!(Threads::Machine.for_units(10_000) <= Threads::MAX);
        assert_eq!(exactly(4).for_units(2), 2);
        assert_eq!(Threads::ONE.for_units(1000), 1);
    }
}
