//! The bookkeeping of one stream batch through failures, as Lambda's stream mappings keep it: the
//! parts of the batch still to deliver, each with its retries; a partial failure retries from the
//! earliest failed record; a whole failure either splits the part in two (`BisectBatchOnFunctionError`,
//! which does not use up retries) or retries it, until `MaximumRetryAttempts` is used up and the part
//! is given up. `MaximumRecordAgeInSeconds` is checked by the caller before each invocation.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

/// How a mapping treats a failing batch (the plan's `StreamFailure`, as numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `None`: retry until the records expire (Lambda's `-1`).
    pub max_retries: Option<u32>,
    /// `None`: records never get too old (Lambda's `-1`).
    pub max_record_age: Option<Duration>,
    pub bisect_on_error: bool,
}

impl Default for RetryPolicy {
    /// Lambda's defaults: retry forever, never too old, no bisection.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: None,
            max_record_age: None,
            bisect_on_error: false,
        }
    }
}

impl RetryPolicy {
    /// From the plan's `-1`-means-forever numbers.
    pub fn from_plan(
        max_retries: i32,
        max_record_age_s: i32,
        bisect_on_error: bool,
    ) -> RetryPolicy {
        RetryPolicy {
            max_retries: u32::try_from(max_retries).ok(),
            max_record_age: u64::try_from(max_record_age_s)
                .ok()
                .map(Duration::from_secs),
            bisect_on_error,
        }
    }
}

/// An invocation's outcome, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Done,
    /// Retry from this record of the part (a partial batch failure).
    RetryFrom(usize),
    RetryAll,
}

/// A contiguous part of the batch still to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    pub(super) range: Range<usize>,
    /// Retries made of this part's records so far.
    pub(super) retries: u32,
    /// Invocations that included this part's records.
    pub(super) invocations: u32,
}

/// What to do after an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// The part is done: go on with the next one.
    Done,
    /// Invoke the (possibly shortened) part again, after a pause.
    Retry,
    /// The part was split in two; invoke the first half.
    Bisected,
    /// Retries are used up: give the part up ([`Retries::give_up`]).
    GiveUp,
}

/// The parts of one batch still to deliver, in order.
#[derive(Debug)]
pub(super) struct Retries {
    policy: RetryPolicy,
    parts: VecDeque<Part>,
}

impl Retries {
    /// A batch of `len` records, none delivered.
    pub(super) fn new(len: usize, policy: RetryPolicy) -> Retries {
        let mut parts = VecDeque::new();
        if len > 0 {
            parts.push_back(Part {
                range: 0..len,
                retries: 0,
                invocations: 0,
            });
        }
        Retries { policy, parts }
    }

    /// The part to invoke next; `None` once the whole batch is done or given up.
    pub(super) fn current(&self) -> Option<&Part> {
        self.parts.front()
    }

    /// Records the outcome of invoking the current part.
    pub(super) fn outcome(&mut self, verdict: Verdict) -> Next {
        let policy = self.policy;
        let Some(part) = self.parts.front_mut() else {
            return Next::Done;
        };
        part.invocations += 1;
        match verdict {
            Verdict::Done => {
                self.parts.pop_front();
                Next::Done
            }
            Verdict::RetryFrom(index) => {
                part.range.start = (part.range.start + index).min(part.range.end);
                if part.range.is_empty() {
                    self.parts.pop_front();
                    return Next::Done;
                }
                Self::count_retry(part, policy)
            }
            Verdict::RetryAll if policy.bisect_on_error && part.range.len() > 1 => {
                let Some(part) = self.parts.pop_front() else {
                    return Next::Done;
                };
                let mid = part.range.start + part.range.len() / 2;
                let half = |range| Part {
                    range,
                    ..part.clone()
                };
                self.parts.push_front(half(mid..part.range.end));
                self.parts.push_front(half(part.range.start..mid));
                Next::Bisected
            }
            Verdict::RetryAll => Self::count_retry(part, policy),
        }
    }

    fn count_retry(part: &mut Part, policy: RetryPolicy) -> Next {
        if policy.max_retries.is_some_and(|max| part.retries >= max) {
            Next::GiveUp
        } else {
            part.retries += 1;
            Next::Retry
        }
    }

    /// Removes the current part, given up; returns it.
    pub(super) fn give_up(&mut self) -> Option<Part> {
        self.parts.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: Option<u32>, bisect: bool) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            max_record_age: None,
            bisect_on_error: bisect,
        }
    }

    fn range(r: &Retries) -> Option<Range<usize>> {
        r.current().map(|p| p.range.clone())
    }

    #[test]
    fn a_success_finishes_the_batch() {
        let mut r = Retries::new(3, RetryPolicy::default());
        assert_eq!(range(&r), Some(0..3));
        assert_eq!(r.outcome(Verdict::Done), Next::Done);
        assert_eq!(r.current(), None);
        assert_eq!(Retries::new(0, RetryPolicy::default()).current(), None);
    }

    #[test]
    fn retries_are_counted_then_the_part_is_given_up() {
        let mut r = Retries::new(3, policy(Some(1), false));
        assert_eq!(r.outcome(Verdict::RetryAll), Next::Retry);
        assert_eq!(r.current().unwrap().retries, 1);
        assert_eq!(r.outcome(Verdict::RetryAll), Next::GiveUp);
        let given = r.give_up().unwrap();
        assert_eq!((given.range, given.invocations), (0..3, 2));
        assert_eq!(r.current(), None);
        // No retries at all: the first failure gives up.
        let mut r = Retries::new(1, policy(Some(0), false));
        assert_eq!(r.outcome(Verdict::RetryAll), Next::GiveUp);
    }

    #[test]
    fn forever_means_forever() {
        let mut r = Retries::new(2, RetryPolicy::default());
        for _ in 0..1000 {
            assert_eq!(r.outcome(Verdict::RetryAll), Next::Retry);
        }
        assert_eq!(range(&r), Some(0..2));
    }

    #[test]
    fn a_partial_failure_retries_from_the_failed_record() {
        let mut r = Retries::new(5, policy(Some(1), false));
        assert_eq!(r.outcome(Verdict::RetryFrom(2)), Next::Retry);
        assert_eq!(range(&r), Some(2..5));
        // Relative to the part: its second record is the batch's fourth.
        assert_eq!(r.outcome(Verdict::RetryFrom(1)), Next::GiveUp);
        assert_eq!(r.give_up().unwrap().range, 3..5);
    }

    #[test]
    fn bisection_splits_without_using_retries() {
        let mut r = Retries::new(4, policy(Some(1), true));
        assert_eq!(r.outcome(Verdict::RetryAll), Next::Bisected);
        assert_eq!(range(&r), Some(0..2));
        assert_eq!(r.current().unwrap().retries, 0);
        // The first half succeeds; the second fails and splits again down to one record.
        assert_eq!(r.outcome(Verdict::Done), Next::Done);
        assert_eq!(range(&r), Some(2..4));
        assert_eq!(r.outcome(Verdict::RetryAll), Next::Bisected);
        assert_eq!(range(&r), Some(2..3));
        assert_eq!(r.outcome(Verdict::Done), Next::Done);
        // A single failing record cannot split: its retries count, then it is given up alone.
        assert_eq!(range(&r), Some(3..4));
        assert_eq!(r.outcome(Verdict::RetryAll), Next::Retry);
        assert_eq!(r.outcome(Verdict::RetryAll), Next::GiveUp);
        let given = r.give_up().unwrap();
        assert_eq!(given.range, 3..4);
        assert_eq!(
            given.invocations, 4,
            "the batch, its half, the record twice"
        );
        assert_eq!(r.current(), None);
    }

    #[test]
    fn plan_numbers_become_a_policy() {
        assert_eq!(
            RetryPolicy::from_plan(-1, -1, false),
            RetryPolicy::default()
        );
        let p = RetryPolicy::from_plan(3, 3600, true);
        assert_eq!(p.max_retries, Some(3));
        assert_eq!(p.max_record_age, Some(Duration::from_secs(3600)));
        assert!(p.bisect_on_error);
    }
}
