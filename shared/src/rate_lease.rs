//! The pure part of the limits: what one container knows about one limit's counter, and what it
//! decides for a call from that alone (admit from its lease, refuse, or ask the counter for more).
//! No I/O: `super` sends the asks. Every figure is in units (calls, or users for soft delete and
//! restore).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Seconds one counter item covers: a lease may reserve any of them in one write. A lease that
/// would reach past the block's end is cut short there, so a long block keeps leases whole
/// (at 10 calls/s a lease covers about 4 seconds, so about one in 15 is cut short).
pub const BLOCK_SECONDS: usize = 60;
/// How far ahead a lease reserves at most: a lowered limit binds within this many seconds.
const MOST_SECONDS_AHEAD: usize = 20;
/// How many calls one lease should cover at the container's rate: at 10 calls/s it reserves four
/// seconds, so leasing adds one request per 40 calls (1.025 requests per call).
const CALLS_PER_LEASE: u32 = 40;
/// A container never reserves more than this share of a second's limit beyond what its call
/// needs, so several containers can hold slices of one second.
const MOST_OF_THE_LIMIT_PER_ASK: u32 = 4;

/// One second of a lease.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    /// Units this container reserved in the second's counter.
    granted: u32,
    /// Units of those its admitted calls used.
    used: u32,
    /// The counter's value as last seen: a lower bound of the shared count (it only grows).
    seen: u32,
}

impl Slot {
    fn left(&self) -> u32 {
        self.granted.saturating_sub(self.used)
    }
}

/// A container's lease on one limit (app and operation) for one block of seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    block: i64,
    slots: [Slot; BLOCK_SECONDS],
    /// Units used in the last second of the previous block, when that block was the one before:
    /// the rate a new block starts from.
    carried_rate: u32,
}

/// This container's leases, by app and operation, each behind its own lock: one call of an app
/// and operation decides (and sends its ask) at a time, with what the asks before it answered,
/// so concurrent calls of one container (the local API serves many at once; a Lambda container
/// one) wait for an ask in flight instead of each sending its own.
#[derive(Debug, Default)]
pub struct Leases(Mutex<HashMap<(String, &'static str), SharedLease>>);

/// One lease, shared by the concurrent calls of its container.
pub type SharedLease = Arc<tokio::sync::Mutex<Lease>>;

impl Leases {
    /// The lease of `app_key` and `operation` (a new one starts at `now_ms`'s block).
    pub fn of(&self, app_key: &str, operation: &'static str, now_ms: i64) -> SharedLease {
        let mut leases = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (block, _) = block_of(now_ms.div_euclid(1000));
        leases
            .entry((app_key.to_owned(), operation))
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Lease::new(block))))
            .clone()
    }
}

/// Reserve `units` more in the counter of the second at `offset` of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    pub offset: usize,
    pub units: u32,
}

/// A request for more of the counter: the current second first, then later seconds of the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub block: i64,
    pub reserves: Vec<Reserve>,
    /// The call's units already taken from what was left of the lease (given back if refused).
    pub from_lease: u32,
    /// The call's units to take from the first reservation.
    pub need: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The lease had room: admitted without a request.
    Admitted,
    /// The counter is known to lack room for the call in this second: refused without a request.
    Refused,
    /// Send this ask; admitted if the counter grants it.
    Ask(Ask),
}

/// Which seconds an ask may reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The current second and, at a low rate, the next ones (the first ask of a call).
    Ahead,
    /// The current second only (an ask again after a refused one: the least that can succeed).
    CurrentSecond,
}

/// A block number and the offset of a second in it.
pub fn block_of(second: i64) -> (i64, usize) {
    let len = BLOCK_SECONDS as i64;
    (second.div_euclid(len), second.rem_euclid(len) as usize)
}

impl Lease {
    pub fn new(block: i64) -> Self {
        Self {
            block,
            slots: [Slot::default(); BLOCK_SECONDS],
            carried_rate: 0,
        }
    }

    /// Moves the lease to `block` (a new block keeps only the rate it ends at).
    fn roll_to(&mut self, block: i64) {
        if block == self.block {
            return;
        }
        let carried_rate = match block == self.block + 1 {
            true => self.slots[BLOCK_SECONDS - 1].used,
            false => 0,
        };
        *self = Self::new(block);
        self.carried_rate = carried_rate;
    }

    /// Decides a call of `units` (at least 1, at most `limit`) at `now_ms` under `limit` per
    /// second.
    pub fn decide(&mut self, now_ms: i64, units: u32, limit: u32, reach: Reach) -> Decision {
        let units = units.clamp(1, limit.max(1));
        let second = now_ms.div_euclid(1000);
        let (block, offset) = block_of(second);
        self.roll_to(block);
        let slot = self.slots[offset];
        if slot.left() >= units {
            self.slots[offset].used += units;
            return Decision::Admitted;
        }
        // Taken from the counter: the call's units beyond what is left of the lease.
        let need = units - slot.left();
        let room = limit.saturating_sub(slot.seen);
        if need > room {
            return Decision::Refused;
        }
        let rate = self.rate(offset).max(slot.used + units);
        // What the next part of this second should use, with a tenth to spare: a quarter
        // second, or as long as CALLS_PER_LEASE calls take, up to the second's end. Short
        // slices at high rates leave little unused when the second ends.
        let rest_of_second = 1000 - now_ms.rem_euclid(1000) as u32;
        let window_ms = (CALLS_PER_LEASE * 1000)
            .div_ceil(rate.max(1))
            .clamp(250, 1000)
            .min(rest_of_second);
        let at_rate = (u64::from(rate) * u64::from(window_ms) * 11).div_ceil(10_000) as u32;
        // A burst from idle doubles what this second has used, so n calls ask about log2(n)
        // times before the rate of the second before is known.
        let expected = at_rate.max(2 * (slot.used + units));
        let extra = Self::slice(expected.saturating_sub(slot.left()), limit, room);
        let mut reserves = vec![Reserve {
            offset,
            units: need.max(extra),
        }];
        if reach == Reach::Ahead {
            // At a low rate a lease also covers the next seconds: CALLS_PER_LEASE calls in all,
            // counted from now (what is left of this second covers only its share).
            let rate = rate.max(1);
            let this_second = rate * rest_of_second / 1000;
            let calls_after_this_second = CALLS_PER_LEASE.saturating_sub(this_second);
            let seconds_ahead =
                (calls_after_this_second.div_ceil(rate) as usize).min(MOST_SECONDS_AHEAD);
            let per_second = rate + rate.div_ceil(8);
            for later in offset + 1..=(offset + seconds_ahead).min(BLOCK_SECONDS - 1) {
                let later_slot = self.slots[later];
                let wanted = per_second.saturating_sub(later_slot.left());
                let room = limit.saturating_sub(later_slot.seen);
                let units = Self::slice(wanted, limit, room);
                if units > 0 {
                    reserves.push(Reserve {
                        offset: later,
                        units,
                    });
                }
            }
        }
        // The rest of the lease is this call's now, whatever concurrent calls decide.
        let from_lease = slot.left();
        self.slots[offset].used += from_lease;
        Decision::Ask(Ask {
            block,
            reserves,
            from_lease,
            need,
        })
    }

    /// What to reserve when `wanted` would serve: at most a quarter of the limit and half the
    /// room known to be left, so the slices shrink as the counter fills (to one call near the
    /// limit) and other containers keep a share.
    fn slice(wanted: u32, limit: u32, room: u32) -> u32 {
        wanted
            .min((limit / MOST_OF_THE_LIMIT_PER_ASK).max(1))
            .min(room / 2)
    }

    /// The container's rate: units used in the second before `offset`.
    fn rate(&self, offset: usize) -> u32 {
        match offset {
            0 => self.carried_rate,
            _ => self.slots[offset - 1].used,
        }
    }

    /// The counter granted `ask`; `counts` are the counters' values after it (by offset). The
    /// call's units are taken from the current second.
    pub fn granted(&mut self, ask: &Ask, counts: &[(usize, u32)]) {
        if ask.block != self.block {
            return;
        }
        for reserve in &ask.reserves {
            self.slots[reserve.offset].granted += reserve.units;
        }
        self.saw(ask.block, counts);
        if let Some(current) = ask.reserves.first() {
            self.slots[current.offset].used += ask.need;
        }
    }

    /// The counter refused `ask` (a second lacked room; `counts` are its values as read), or the
    /// ask failed (no counts): the call gives back what it took from the lease.
    pub fn refused(&mut self, ask: &Ask, counts: &[(usize, u32)]) {
        if ask.block != self.block {
            return;
        }
        self.saw(ask.block, counts);
        if let Some(current) = ask.reserves.first() {
            self.slots[current.offset].used -= ask.from_lease;
        }
    }

    /// The counters of `block` as read (after a grant, or with a refused ask): the larger of
    /// what was seen and these.
    pub fn saw(&mut self, block: i64, counts: &[(usize, u32)]) {
        if block != self.block {
            return;
        }
        for &(offset, count) in counts {
            if let Some(slot) = self.slots.get_mut(offset) {
                slot.seen = slot.seen.max(count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The shared counter as DynamoDB applies an ask: every reservation, or none if one of its
    /// seconds would pass the limit.
    #[derive(Default)]
    struct Counter {
        counts: HashMap<(i64, usize), u32>,
        requests: u32,
    }

    impl Counter {
        fn block(&self, block: i64) -> Vec<(usize, u32)> {
            (0..BLOCK_SECONDS)
                .filter_map(|o| Some((o, *self.counts.get(&(block, o))?)))
                .collect()
        }

        /// One call through a container, as `super::admit` runs it: whether it was admitted.
        fn call(&mut self, lease: &mut Lease, now_ms: i64, units: u32, limit: u32) -> bool {
            for reach in [Reach::Ahead, Reach::CurrentSecond] {
                let ask = match lease.decide(now_ms, units, limit, reach) {
                    Decision::Admitted => return true,
                    Decision::Refused => return false,
                    Decision::Ask(ask) => ask,
                };
                self.requests += 1;
                let fits = ask.reserves.iter().all(|r| {
                    self.counts
                        .get(&(ask.block, r.offset))
                        .copied()
                        .unwrap_or(0)
                        + r.units
                        <= limit
                });
                if fits {
                    let mut after = Vec::new();
                    for r in &ask.reserves {
                        let count = self.counts.entry((ask.block, r.offset)).or_default();
                        *count += r.units;
                        after.push((r.offset, *count));
                    }
                    lease.granted(&ask, &after);
                    return true;
                }
                lease.refused(&ask, &self.block(ask.block));
            }
            false
        }
    }

    /// A small deterministic generator (no dependency): xorshift.
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound.max(1)
        }
    }

    /// `containers` each offered `per_container` calls per second (evenly spaced, with a random
    /// phase) for `seconds`: admitted calls by second, and the requests sent.
    fn run(
        limit: u32,
        containers: usize,
        per_container: u32,
        seconds: i64,
        seed: u64,
    ) -> (Vec<u32>, u32, u32) {
        let mut random = Random(seed);
        let start_ms = 1_764_000_000_000 + random.below(20_000) as i64;
        let mut leases: Vec<Lease> = (0..containers).map(|_| Lease::new(0)).collect();
        let mut calls: Vec<(i64, usize)> = Vec::new();
        for container in 0..containers {
            let phase = random.below(1000) as i64;
            let spacing = 1000.0 / f64::from(per_container);
            let total = i64::from(per_container) * seconds;
            for i in 0..total {
                calls.push((start_ms + phase + (i as f64 * spacing) as i64, container));
            }
        }
        calls.sort_unstable();
        let mut counter = Counter::default();
        let first = start_ms.div_euclid(1000);
        let mut admitted = vec![0; seconds as usize + 2];
        for (at, container) in &calls {
            if counter.call(&mut leases[*container], *at, 1, limit) {
                admitted[(at.div_euclid(1000) - first) as usize] += 1;
            }
        }
        for ((block, offset), count) in &counter.counts {
            assert!(
                *count <= limit,
                "second {block}/{offset} counted {count} over {limit}"
            );
        }
        (admitted, counter.requests, calls.len() as u32)
    }

    #[test]
    fn no_second_admits_more_than_its_limit_however_many_containers_share_it() {
        for (seed, (limit, containers, per_container)) in [
            (100, 1, 500),
            (100, 10, 30),
            (5, 8, 40),
            (1000, 4, 375),
            (1000, 16, 94),
            (7, 3, 2),
            (200, 50, 10),
        ]
        .into_iter()
        .enumerate()
        {
            let (admitted, _, _) = run(limit, containers, per_container, 30, seed as u64 + 1);
            for (second, count) in admitted.iter().enumerate() {
                assert!(
                    *count <= limit,
                    "{limit}/s: second {second} admitted {count}"
                );
            }
        }
    }

    #[test]
    fn offered_half_again_the_limit_over_several_containers_admits_nearly_all_of_it() {
        for (limit, containers) in [(1000, 4), (1000, 8), (100, 4)] {
            let per_container = limit * 3 / 2 / containers as u32;
            let (admitted, requests, calls) = run(limit, containers, per_container, 20, 7);
            // Whole seconds after the first (the run starts mid-second).
            for (second, count) in admitted.iter().enumerate().take(20).skip(2) {
                assert!(
                    *count >= limit * 95 / 100,
                    "{limit}/s over {containers} containers: second {second} admitted {count}"
                );
            }
            assert!(
                requests * 10 < calls,
                "{requests} requests for {calls} calls"
            );
        }
    }

    #[test]
    fn at_ten_calls_a_second_a_container_sends_at_most_one_request_per_twenty_calls() {
        for per_container in [10, 50, 200] {
            for containers in [1, 4] {
                let (admitted, requests, calls) = run(100_000, containers, per_container, 60, 3);
                assert_eq!(admitted.iter().sum::<u32>(), calls, "all admitted");
                let per_call = f64::from(requests) / f64::from(calls);
                assert!(
                    per_call <= 0.05,
                    "{per_container}/s: {per_call} requests per call"
                );
            }
        }
        // Under Nexconn's default of 100/s too.
        let (_, requests, calls) = run(100, 1, 10, 60, 5);
        assert!(f64::from(requests) / f64::from(calls) <= 0.05);
    }

    #[test]
    fn a_hundred_reads_at_ten_a_second_send_at_most_five_asks_wherever_they_fall_in_a_block() {
        // As the cost table measures a read: 10 calls to warm the lease, then 100, every 100 ms,
        // under Nexconn's default of 100/s, starting at every phase of a block. Five asks are
        // 0.05 counter writes per call, the goal; the mean over the phases is about 0.027.
        let block_ms = BLOCK_SECONDS as i64 * 1000;
        for start_ms in (0..block_ms).step_by(370) {
            let mut counter = Counter::default();
            let mut lease = Lease::new(0);
            let mut warming = 0;
            for i in 0..110 {
                if i == 10 {
                    warming = counter.requests;
                }
                assert!(counter.call(&mut lease, block_ms + start_ms + i * 100, 1, 100));
            }
            let asks = counter.requests - warming;
            assert!(asks <= 5, "start {start_ms} ms into a block: {asks} asks");
        }
    }

    #[test]
    fn a_lease_admits_from_memory_and_a_known_full_second_refuses_without_a_request() {
        let mut lease = Lease::new(0);
        let Decision::Ask(ask) = lease.decide(1_000, 1, 5, Reach::Ahead) else {
            panic!("the first call asks");
        };
        assert_eq!(ask.reserves[0].offset, 1);
        assert!(ask.reserves[0].units >= 1);
        let reserved = ask.reserves[0].units;
        lease.granted(&ask, &[(1, reserved)]);
        for _ in 1..reserved {
            assert_eq!(lease.decide(1_100, 1, 5, Reach::Ahead), Decision::Admitted);
        }
        // Another container filled the second.
        lease.saw(0, &[(1, 5)]);
        assert_eq!(lease.decide(1_200, 1, 5, Reach::Ahead), Decision::Refused);
        // The next second admits again: from what the first ask reserved ahead, or by asking.
        assert_ne!(lease.decide(2_000, 1, 5, Reach::Ahead), Decision::Refused);
    }

    #[test]
    fn slices_shrink_to_the_call_itself_near_the_limit() {
        let mut lease = Lease::new(0);
        lease.saw(0, &[(0, 98)]);
        let Decision::Ask(ask) = lease.decide(10, 1, 100, Reach::Ahead) else {
            panic!("asks");
        };
        assert_eq!(ask.reserves[0].units, 1, "room 2: half of it");
        let mut lease = Lease::new(0);
        lease.saw(0, &[(0, 20)]);
        let Decision::Ask(ask) = lease.decide(10, 1, 100, Reach::Ahead) else {
            panic!("asks");
        };
        assert!(ask.reserves.iter().all(|r| r.units <= 25), "{ask:?}");
    }

    #[test]
    fn a_call_counts_its_units_and_more_than_the_limit_counts_as_the_limit() {
        let mut lease = Lease::new(0);
        let Decision::Ask(ask) = lease.decide(0, 30, 100, Reach::CurrentSecond) else {
            panic!("asks");
        };
        assert_eq!((ask.need, ask.reserves.len()), (30, 1));
        assert!(ask.reserves[0].units >= 30);
        let mut lease = Lease::new(0);
        let Decision::Ask(ask) = lease.decide(0, 150, 100, Reach::Ahead) else {
            panic!("asks");
        };
        assert_eq!((ask.need, ask.reserves[0].units), (100, 100));
        lease.saw(0, &[(0, 1)]);
        assert_eq!(lease.decide(0, 150, 100, Reach::Ahead), Decision::Refused);
    }

    #[test]
    fn at_a_low_rate_a_lease_reserves_the_next_seconds_and_at_a_high_rate_only_this_one() {
        let mut lease = Lease::new(0);
        lease.slots[0].used = 10;
        let Decision::Ask(ask) = lease.decide(1_000, 1, 100, Reach::Ahead) else {
            panic!("asks");
        };
        let offsets: Vec<usize> = ask.reserves.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [1, 2, 3, 4], "40 calls at 10/s");
        let Decision::Ask(ask) = lease.decide(1_000, 1, 100, Reach::CurrentSecond) else {
            panic!("asks");
        };
        assert_eq!(ask.reserves.len(), 1);
        let mut lease = Lease::new(0);
        lease.slots[0].used = 80;
        let Decision::Ask(ask) = lease.decide(1_000, 1, 1000, Reach::Ahead) else {
            panic!("asks");
        };
        assert_eq!(ask.reserves.len(), 1, "{ask:?}");
        assert_eq!(
            ask.reserves[0].units, 44,
            "half a second at that rate, and a tenth"
        );
    }

    #[test]
    fn a_new_block_starts_from_the_rate_the_last_one_ended_at() {
        let mut lease = Lease::new(0);
        lease.slots[BLOCK_SECONDS - 1].used = 10;
        let Decision::Ask(ask) = lease.decide(BLOCK_SECONDS as i64 * 1000, 1, 100, Reach::Ahead)
        else {
            panic!("asks");
        };
        assert_eq!((ask.block, ask.reserves.len()), (1, 4));
        // A grant for a block the lease has left is ignored.
        let stale = Ask {
            block: 0,
            ..ask.clone()
        };
        let before = lease.clone();
        lease.granted(&stale, &[(0, 3)]);
        assert_eq!(lease, before);
    }

    #[test]
    fn a_refused_ask_gives_back_what_it_took_from_the_lease() {
        let mut lease = Lease::new(0);
        lease.slots[0].granted = 2;
        let Decision::Ask(ask) = lease.decide(10, 5, 100, Reach::CurrentSecond) else {
            panic!("asks");
        };
        assert_eq!((ask.from_lease, ask.need), (2, 3));
        lease.refused(&ask, &[(0, 99)]);
        assert_eq!(lease.slots[0].left(), 2);
        assert_eq!(lease.decide(20, 1, 100, Reach::Ahead), Decision::Admitted);
    }
}
