//! Dial statistics: what one dial's stored status and updates say about it,
//! and the tallies GetDialStats reports.
//!
//! How each number is derived from what switchboard stores of a dial (its
//! call row: status, failure reason, `started_at`; and its log of
//! `status_changed` and `dial_event` updates with their `occurred_at`):
//!
//! - **answered by agent**: the agent picked up — a status change to
//!   AGENT_ANSWERED or CONNECTED, or a FocalScope pickup on either leg (the
//!   agent leg rings first, so a customer pickup implies the agent's).
//! - **connected**: agent and customer were connected — a status change to
//!   CONNECTED, or a FocalScope customer-leg pickup. The pickup counts too
//!   because FocalScope callbacks can arrive out of order: a hang-up
//!   received before its pickup ends the call without it ever passing
//!   through CONNECTED, yet the customer did answer. `connected_at` is the
//!   earliest of those updates.
//! - The outcome (exactly one per dial): connected, whatever happened after;
//!   otherwise, once FAILED or ENDED: missed by agent (FAILED, AGENT_MISSED),
//!   missed by customer (FAILED, CUSTOMER_MISSED), or failed (any other
//!   reason, or none, or ENDED without a connection — e.g. the agent hung up
//!   before the customer answered); UNKNOWN when the vendor may or may not
//!   have dialled; otherwise still in progress.
//! - **time to pickup**: `connected_at − started_at`, over connected dials.
//!   `started_at` is when the vendor accepted the dial; a pickup callback
//!   can arrive before that answer is recorded, which reads as 0.
//! - **talk time**: from `connected_at` to the first end of the call after
//!   it (a status change to ENDED or FAILED, or a FocalScope hang-up), over
//!   connected dials that are over. When the first end was received before
//!   the connection (callbacks out of order) the talk time is not known and
//!   the dial is left out of the talk time (but not of `connected`).
//! - Percentiles use the nearest rank: the smallest value with at least p %
//!   of the values at or below it.

use chrono::{DateTime, TimeDelta, Utc};

use super::{CallStatus, DialEventType, FailureReason, LegKind, Update};

/// How a dial turned out. Outcomes do not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Connected,
    MissedByAgent,
    MissedByCustomer,
    Failed,
    Unknown,
    InProgress,
}

/// What the stored updates of one dial say (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialFacts {
    pub answered_by_agent: bool,
    pub connected_at: Option<DateTime<Utc>>,
    /// The first end of the call (any time); `None` while not over.
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: DialOutcome,
}

fn earliest(current: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if current.is_none_or(|seen| at < seen) {
        *current = Some(at);
    }
}

impl DialFacts {
    /// Reads a dial's current `status` / `failure_reason` and its updates
    /// (`status_changed` and `dial_event`, others are ignored) with their
    /// `occurred_at`.
    pub fn derive<'a>(
        status: CallStatus,
        failure_reason: Option<FailureReason>,
        updates: impl IntoIterator<Item = (DateTime<Utc>, &'a Update)>,
    ) -> Self {
        let mut answered_by_agent = false;
        let mut connected_at = None;
        let mut ended_at = None;
        for (at, update) in updates {
            match update {
                Update::StatusChanged(change) => match change.status {
                    CallStatus::AgentAnswered => answered_by_agent = true,
                    CallStatus::Connected => {
                        answered_by_agent = true;
                        earliest(&mut connected_at, at);
                    }
                    CallStatus::Ended | CallStatus::Failed => earliest(&mut ended_at, at),
                    _ => {}
                },
                Update::DialEvent(event) => match (event.leg, event.event) {
                    (LegKind::Agent, DialEventType::Pickup) => answered_by_agent = true,
                    (LegKind::Customer, DialEventType::Pickup) => {
                        answered_by_agent = true;
                        earliest(&mut connected_at, at);
                    }
                    (_, DialEventType::Hangup) => earliest(&mut ended_at, at),
                    (_, DialEventType::Missed) => {}
                },
                Update::View(_)
                | Update::Cart(_)
                | Update::Order(_)
                | Update::AgentAssigned(_)
                | Update::OpticoMatches(_) => {}
            }
        }
        let outcome = if connected_at.is_some() {
            DialOutcome::Connected
        } else {
            match (status, failure_reason) {
                (CallStatus::Failed, Some(FailureReason::AgentMissed)) => {
                    DialOutcome::MissedByAgent
                }
                (CallStatus::Failed, Some(FailureReason::CustomerMissed)) => {
                    DialOutcome::MissedByCustomer
                }
                (CallStatus::Failed | CallStatus::Ended, _) => DialOutcome::Failed,
                (CallStatus::Unknown, _) => DialOutcome::Unknown,
                _ => DialOutcome::InProgress,
            }
        };
        Self {
            answered_by_agent,
            connected_at,
            // Only a call that is over has ended, whatever updates say.
            ended_at: ended_at.filter(|_| status.is_final()),
            outcome,
        }
    }

    /// Time from the dial to the customer's pickup, for connected dials.
    pub fn time_to_pickup(&self, started_at: DateTime<Utc>) -> Option<TimeDelta> {
        self.connected_at
            .map(|at| (at - started_at).max(TimeDelta::zero()))
    }

    /// Time connected, for connected dials that are over, when known.
    pub fn talk_time(&self) -> Option<TimeDelta> {
        match (self.connected_at, self.ended_at) {
            (Some(connected), Some(ended)) if ended >= connected => Some(ended - connected),
            _ => None,
        }
    }
}

/// The counts of a group of dials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DialTally {
    pub dials: i64,
    pub answered_by_agent: i64,
    pub connected: i64,
    pub missed_by_agent: i64,
    pub missed_by_customer: i64,
    pub failed: i64,
    pub unknown: i64,
    /// Every time to pickup, for the percentiles (unsorted).
    pickups: Vec<TimeDelta>,
    talk_total: TimeDelta,
    talks: i64,
}

/// What a tally reports beyond its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct DialSummary {
    /// `connected / dials`, 0 without dials.
    pub answer_rate: f64,
    pub time_to_pickup_p50: Option<TimeDelta>,
    pub time_to_pickup_p95: Option<TimeDelta>,
    pub talk_time_total: TimeDelta,
    pub talk_time_average: Option<TimeDelta>,
}

impl DialTally {
    pub fn add(&mut self, started_at: DateTime<Utc>, facts: &DialFacts) {
        self.dials += 1;
        self.answered_by_agent += i64::from(facts.answered_by_agent);
        match facts.outcome {
            DialOutcome::Connected => self.connected += 1,
            DialOutcome::MissedByAgent => self.missed_by_agent += 1,
            DialOutcome::MissedByCustomer => self.missed_by_customer += 1,
            DialOutcome::Failed => self.failed += 1,
            DialOutcome::Unknown => self.unknown += 1,
            DialOutcome::InProgress => {}
        }
        if let Some(pickup) = facts.time_to_pickup(started_at) {
            self.pickups.push(pickup);
        }
        if let Some(talk) = facts.talk_time() {
            self.talk_total += talk;
            self.talks += 1;
        }
    }

    pub fn summary(&mut self) -> DialSummary {
        self.pickups.sort_unstable();
        DialSummary {
            answer_rate: if self.dials == 0 {
                0.0
            } else {
                self.connected as f64 / self.dials as f64
            },
            time_to_pickup_p50: nearest_rank(&self.pickups, 50),
            time_to_pickup_p95: nearest_rank(&self.pickups, 95),
            talk_time_total: self.talk_total,
            talk_time_average: (self.talks > 0).then(|| {
                TimeDelta::microseconds(
                    self.talk_total.num_microseconds().unwrap_or(i64::MAX) / self.talks,
                )
            }),
        }
    }
}

/// The `percent`-th percentile of `sorted` by nearest rank: the value at
/// rank ⌈percent/100 × n⌉ (1-based); `None` when empty.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: u32) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(percent) * sorted.len() as u64)
        .div_ceil(100)
        .max(1);
    sorted.get(rank as usize - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DialEvent, StatusChanged};

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap()
    }

    fn status(status: CallStatus, reason: Option<FailureReason>) -> Update {
        Update::StatusChanged(StatusChanged {
            previous: None,
            status,
            failure_reason: reason,
            detail: None,
        })
    }

    fn leg(leg: LegKind, event: DialEventType) -> Update {
        Update::DialEvent(DialEvent {
            leg,
            event,
            event_code: None,
            recorded: false,
            focalscope_call_id: None,
            call_uuid: None,
            request_id: None,
        })
    }

    fn facts(
        now: CallStatus,
        reason: Option<FailureReason>,
        updates: &[(i64, Update)],
    ) -> DialFacts {
        DialFacts::derive(now, reason, updates.iter().map(|(s, u)| (at(*s), u)))
    }

    use CallStatus::*;
    use DialEventType::*;
    use LegKind::*;

    #[test]
    fn the_documented_dial_connects_and_talks_until_the_first_hangup() {
        let dial = facts(
            Ended,
            None,
            &[
                (0, status(Dialing, None)),
                (3, leg(Agent, Pickup)),
                (3, status(AgentAnswered, None)),
                (10, leg(Customer, Pickup)),
                (10, status(Connected, None)),
                (70, leg(Customer, Hangup)),
                (70, status(Ended, None)),
                (71, leg(Agent, Hangup)),
            ],
        );
        assert_eq!(dial.outcome, DialOutcome::Connected);
        assert!(dial.answered_by_agent);
        assert_eq!(dial.time_to_pickup(at(0)), Some(TimeDelta::seconds(10)));
        assert_eq!(dial.talk_time(), Some(TimeDelta::seconds(60)));
    }

    #[test]
    fn a_pickup_received_after_the_hangup_still_connected_but_talk_time_is_unknown() {
        let dial = facts(
            Ended,
            None,
            &[
                (2, leg(Agent, Pickup)),
                (30, leg(Customer, Hangup)),
                (30, status(Ended, None)),
                (31, leg(Customer, Pickup)),
            ],
        );
        assert_eq!(dial.outcome, DialOutcome::Connected);
        assert_eq!(dial.time_to_pickup(at(0)), Some(TimeDelta::seconds(31)));
        assert_eq!(dial.talk_time(), None);
    }

    #[test]
    fn failures_say_which_leg_missed() {
        let agent = facts(
            Failed,
            Some(FailureReason::AgentMissed),
            &[(2, leg(Agent, Missed))],
        );
        assert_eq!(agent.outcome, DialOutcome::MissedByAgent);
        assert!(!agent.answered_by_agent);
        let customer = facts(
            Failed,
            Some(FailureReason::CustomerMissed),
            &[(2, leg(Agent, Pickup)), (9, leg(Customer, Missed))],
        );
        assert_eq!(customer.outcome, DialOutcome::MissedByCustomer);
        assert!(customer.answered_by_agent);
        assert_eq!(customer.time_to_pickup(at(0)), None);
        // The agent hung up before the customer answered: ENDED, never
        // connected.
        let hung_up = facts(
            Ended,
            None,
            &[(2, leg(Agent, Pickup)), (5, leg(Agent, Hangup))],
        );
        assert_eq!(hung_up.outcome, DialOutcome::Failed);
        assert_eq!(
            facts(Failed, Some(FailureReason::VendorFailed), &[]).outcome,
            DialOutcome::Failed
        );
        assert_eq!(facts(Unknown, None, &[]).outcome, DialOutcome::Unknown);
        assert_eq!(
            facts(AgentAnswered, None, &[(1, leg(Agent, Pickup))]).outcome,
            DialOutcome::InProgress
        );
    }

    #[test]
    fn a_call_still_connected_has_no_talk_time_yet() {
        let dial = facts(Connected, None, &[(4, status(Connected, None))]);
        assert_eq!(dial.outcome, DialOutcome::Connected);
        assert_eq!(dial.talk_time(), None);
    }

    #[test]
    fn a_pickup_before_the_dial_was_recorded_reads_as_zero() {
        let dial = facts(Connected, None, &[(-2, leg(Customer, Pickup))]);
        assert_eq!(dial.time_to_pickup(at(0)), Some(TimeDelta::zero()));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=20).collect();
        assert_eq!(nearest_rank(&values, 50), Some(10));
        assert_eq!(nearest_rank(&values, 95), Some(19));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[1, 2], 50), Some(1));
        assert_eq!(nearest_rank::<i64>(&[], 50), None);
    }

    #[test]
    fn tallies_count_and_summarise() {
        let mut tally = DialTally::default();
        let connected = facts(
            Ended,
            None,
            &[(10, status(Connected, None)), (40, status(Ended, None))],
        );
        tally.add(at(0), &connected);
        tally.add(at(0), &facts(Failed, Some(FailureReason::AgentMissed), &[]));
        tally.add(at(0), &facts(Dialing, None, &[]));
        let summary = tally.summary();
        assert_eq!(
            (tally.dials, tally.connected, tally.missed_by_agent),
            (3, 1, 1)
        );
        assert!((summary.answer_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(summary.time_to_pickup_p50, Some(TimeDelta::seconds(10)));
        assert_eq!(summary.talk_time_total, TimeDelta::seconds(30));
        assert_eq!(summary.talk_time_average, Some(TimeDelta::seconds(30)));
        assert_eq!(DialTally::default().summary().answer_rate, 0.0);
    }
}
