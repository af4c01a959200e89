//! The TTL cache of forwarded answers, keyed by [`Question`]. Pure: the caller passes `now`.
//!
//! A positive answer lives for the smallest TTL of its records (capped at `max_ttl`); a negative
//! one (NXDOMAIN, or NOERROR with no answer) for the SOA's negative TTL, `min(SOA TTL, SOA
//! minimum)` (RFC 2308 §5), capped at `max_negative_ttl`, and is not cached without an SOA.
//! Truncated answers, server failures and refusals are never cached. When full, the entry that
//! expires soonest goes first, expired ones before all others.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{RData, Record};

use crate::forward::Answer;

/// The cache key: a question's lowercase name (with the trailing dot), type and class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Question {
    name: String,
    qtype: u16,
    qclass: u16,
}

impl Question {
    /// The key of a parsed question.
    pub(crate) fn of(query: &Query) -> Question {
        let mut name = query.name().to_lowercase().to_ascii();
        if !name.ends_with('.') {
            name.push('.');
        }
        Question {
            name,
            qtype: u16::from(query.query_type()),
            qclass: u16::from(query.query_class()),
        }
    }

    /// The lowercase name, with the trailing dot.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The query type's number (1 for A, 28 for AAAA, ...).
    pub fn qtype(&self) -> u16 {
        self.qtype
    }

    /// The query class's number (1 for IN).
    pub fn qclass(&self) -> u16 {
        self.qclass
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} type {} class {}", self.name, self.qtype, self.qclass)
    }
}

/// Cache limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Entries kept at most (at least one is always allowed).
    pub capacity: usize,
    /// The longest a positive answer is kept (CoreDNS's cache: 3600 s).
    pub max_ttl: Duration,
    /// The longest a negative answer is kept (CoreDNS's cache: 1800 s).
    pub max_negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            capacity: 10_000,
            max_ttl: Duration::from_secs(3600),
            max_negative_ttl: Duration::from_secs(1800),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    answer: Answer,
    stored: Instant,
    expires: Instant,
    seq: u64,
}

/// The cache. Not shared: the shell keeps it behind one lock.
#[derive(Debug, Clone)]
pub struct Cache {
    config: CacheConfig,
    entries: HashMap<Question, Entry>,
    /// `(expiry, insertion number)` → key, for eviction in expiry order.
    by_expiry: BTreeMap<(Instant, u64), Question>,
    next_seq: u64,
}

impl Cache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Cache {
        Cache {
            config,
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// Entries held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The answer to `question` if one is cached and alive at `now`, its TTLs reduced by the
    /// whole seconds it has been cached. An expired entry is dropped.
    pub fn get(&mut self, question: &Question, now: Instant) -> Option<Answer> {
        let entry = self.entries.get(question)?;
        if now >= entry.expires {
            self.remove(question);
            return None;
        }
        let aged = u32::try_from(now.saturating_duration_since(entry.stored).as_secs())
            .unwrap_or(u32::MAX);
        let mut answer = entry.answer.clone();
        let message = &mut answer.message;
        for record in message
            .answers
            .iter_mut()
            .chain(message.authorities.iter_mut())
            .chain(message.additionals.iter_mut())
        {
            record.ttl = record.ttl.saturating_sub(aged);
        }
        Some(answer)
    }

    /// Caches `answer` to `question` at `now`, for as long as its records allow; returns that
    /// time, or `None` if the answer is not cacheable.
    pub fn insert(
        &mut self,
        question: Question,
        answer: &Answer,
        now: Instant,
    ) -> Option<Duration> {
        let ttl = self.ttl_of(answer)?;
        self.remove(&question);
        while self.entries.len() >= self.config.capacity.max(1) {
            let Some((_, oldest)) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = now + ttl;
        self.by_expiry.insert((expires, seq), question.clone());
        let mut answer = answer.clone();
        // OPT is per hop (RFC 6891 §6.1.1): the reply gets podnet's own.
        answer.message.edns = None;
        answer.message.signature = None;
        self.entries.insert(
            question,
            Entry {
                answer,
                stored: now,
                expires,
                seq,
            },
        );
        Some(ttl)
    }

    fn remove(&mut self, question: &Question) {
        if let Some(entry) = self.entries.remove(question) {
            self.by_expiry.remove(&(entry.expires, entry.seq));
        }
    }

    /// How long `answer` may be cached, `None` if not at all.
    fn ttl_of(&self, answer: &Answer) -> Option<Duration> {
        let message = &answer.message;
        if message.metadata.truncation {
            return None;
        }
        let code = message.metadata.response_code;
        let (seconds, cap) = match code {
            ResponseCode::NoError if !message.answers.is_empty() => {
                let min = message
                    .answers
                    .iter()
                    .chain(&message.authorities)
                    .chain(&message.additionals)
                    .map(|record| record.ttl)
                    .min()?;
                (min, self.config.max_ttl)
            }
            ResponseCode::NoError | ResponseCode::NXDomain => (
                negative_ttl(&message.authorities)?,
                self.config.max_negative_ttl,
            ),
            _ => return None,
        };
        let ttl = Duration::from_secs(u64::from(seconds)).min(cap);
        (!ttl.is_zero()).then_some(ttl)
    }
}

/// `min(SOA TTL, SOA minimum)` of the first SOA in the authority section (RFC 2308 §5).
fn negative_ttl(authorities: &[Record]) -> Option<u32> {
    authorities.iter().find_map(|record| match &record.data {
        RData::SOA(soa) => Some(record.ttl.min(soa.minimum)),
        _ => None,
    })
}
