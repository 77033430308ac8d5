//! The bounded queue behind the sinks that keep short outages lossless
//! (remote write, InfluxDB, Loki): items (one tick's samples, or one log
//! line) wait oldest first until a push succeeds. Two limits keep memory
//! flat however long the target is away: a total of samples (the oldest
//! items make room for new ones) and an age (older items are dropped,
//! because the target would refuse them anyway: Prometheus calls them
//! "out of bounds"). Time is an argument, never read here, so tests are
//! exact.

use std::collections::VecDeque;

/// Something that waits in a [`Queue`].
pub trait Item {
    /// How many samples (or log lines) it carries; at least 1.
    fn samples(&self) -> usize;
    /// When it was measured, unix milliseconds.
    fn at_ms(&self) -> i64;
}

/// The queue's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total samples kept; an item larger than this is still kept alone.
    pub max_samples: usize,
    /// Items measured longer ago than this are dropped, milliseconds.
    pub max_age_ms: i64,
}

/// Samples dropped by one call, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Pushed out by newer items (the queue was full).
    pub full: usize,
    /// Older than [`Limits::max_age_ms`].
    pub old: usize,
}

impl Dropped {
    pub fn total(&self) -> usize {
        self.full + self.old
    }
}

/// Items oldest first, within [`Limits`].
#[derive(Debug)]
pub struct Queue<T> {
    items: VecDeque<T>,
    samples: usize,
    limits: Limits,
}

impl<T: Item> Queue<T> {
    pub fn new(limits: Limits) -> Self {
        Queue {
            items: VecDeque::new(),
            samples: 0,
            limits,
        }
    }

    /// Samples waiting.
    pub fn samples(&self) -> usize {
        self.samples
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Add `item` at the back; drop what is too old at `now_ms`, then the
    /// oldest items until the total fits.
    pub fn push(&mut self, item: T, now_ms: i64) -> Dropped {
        self.samples += item.samples();
        self.items.push_back(item);
        let mut d = Dropped {
            full: 0,
            old: self.expire(now_ms),
        };
        while self.samples > self.limits.max_samples && self.items.len() > 1 {
            d.full += self.pop_front_one();
        }
        d
    }

    /// Drop the items older than the age limit at `now_ms`; returns the
    /// samples dropped.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let oldest_kept = now_ms.saturating_sub(self.limits.max_age_ms);
        let mut n = 0;
        while self.items.front().is_some_and(|i| i.at_ms() < oldest_kept) {
            n += self.pop_front_one();
        }
        n
    }

    /// How many front items make the next request: as many as fit in
    /// `max_samples`, at least one (0 when empty).
    pub fn batch_len(&self, max_samples: usize) -> usize {
        let mut total = 0;
        let mut n = 0;
        for i in &self.items {
            if n > 0 && total + i.samples() > max_samples {
                break;
            }
            total += i.samples();
            n += 1;
        }
        n
    }

    /// The first `n` items, oldest first.
    pub fn front(&mut self, n: usize) -> &[T] {
        let n = n.min(self.items.len());
        &self.items.make_contiguous()[..n]
    }

    /// Remove the first `n` items (sent, or given up on); returns their
    /// samples.
    pub fn pop_front(&mut self, n: usize) -> usize {
        (0..n.min(self.items.len()))
            .map(|_| self.pop_front_one())
            .sum()
    }

    fn pop_front_one(&mut self) -> usize {
        match self.items.pop_front() {
            Some(i) => {
                self.samples -= i.samples();
                i.samples()
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct It {
        at: i64,
        n: usize,
    }

    impl Item for It {
        fn samples(&self) -> usize {
            self.n
        }
        fn at_ms(&self) -> i64 {
            self.at
        }
    }

    fn q(max_samples: usize, max_age_ms: i64) -> Queue<It> {
        Queue::new(Limits {
            max_samples,
            max_age_ms,
        })
    }

    fn ats(q: &mut Queue<It>) -> Vec<i64> {
        let n = q.items.len();
        q.front(n).iter().map(|i| i.at).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_stays_within_its_bound() {
        let mut q = q(1000, i64::MAX);
        let mut dropped = 0;
        // Two hours of one tick a second with 100 samples: the bound holds
        // the newest ten ticks, in order.
        for t in 0..7200 {
            dropped += q
                .push(
                    It {
                        at: t * 1000,
                        n: 100,
                    },
                    t * 1000,
                )
                .full;
            assert!(q.samples() <= 1000);
        }
        assert_eq!(q.samples(), 1000);
        assert_eq!(dropped, 7190 * 100);
        assert_eq!(
            ats(&mut q),
            (7190..7200).map(|t| t * 1000).collect::<Vec<_>>()
        );
    }

    #[test]
    fn items_older_than_the_age_limit_are_dropped() {
        let mut q = q(1_000_000, 3_600_000);
        for t in 0..100 {
            q.push(
                It {
                    at: t * 60_000,
                    n: 10,
                },
                t * 60_000,
            );
        }
        // At minute 99 the queue holds minutes 39..=99 (an hour back).
        assert_eq!(ats(&mut q).first(), Some(&(39 * 60_000)));
        // Time passes with no new items (the sink is failing): expire.
        assert_eq!(q.expire(100 * 60_000 + 30_000), 20);
        assert_eq!(ats(&mut q).first(), Some(&(41 * 60_000)));
        let d = q.push(
            It {
                at: 200 * 60_000,
                n: 10,
            },
            200 * 60_000,
        );
        assert_eq!(
            d,
            Dropped {
                full: 0,
                old: 59 * 10
            }
        );
        assert_eq!(ats(&mut q), [200 * 60_000]);
    }

    #[test]
    fn an_item_larger_than_the_bound_is_kept_alone() {
        let mut q = q(10, i64::MAX);
        q.push(It { at: 1, n: 3 }, 1);
        let d = q.push(It { at: 2, n: 50 }, 2);
        assert_eq!(d.full, 3);
        assert_eq!((q.samples(), ats(&mut q)), (50, vec![2]));
    }

    #[test]
    fn batches_take_whole_items_oldest_first() {
        let mut q = q(1000, i64::MAX);
        assert_eq!(q.batch_len(100), 0);
        for (at, n) in [(1, 40), (2, 40), (3, 40), (4, 500)] {
            q.push(It { at, n }, at);
        }
        assert_eq!(q.batch_len(100), 2);
        assert_eq!(q.batch_len(10), 1, "at least one item");
        assert_eq!(q.front(2).iter().map(|i| i.at).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(q.pop_front(2), 80);
        assert_eq!(q.batch_len(100), 1);
        assert_eq!(q.pop_front(1), 40);
        assert_eq!(q.batch_len(100), 1, "a large item goes alone");
        assert_eq!(q.pop_front(5), 500);
        assert!(q.is_empty() && q.samples() == 0);
    }
}
