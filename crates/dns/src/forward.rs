//! Forwarding a question podnet does not own: the [`Forward`] a query becomes, the query to send
//! upstream (with an id the shell picks), checking what comes back ([`Forward::accept`]), and
//! the client's reply built from an upstream or cached [`Answer`], or SERVFAIL.
//!
//! No sockets here: the shell sends the bytes, waits, and hands the reply back.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};

use crate::cache::Question;
use crate::wire::{encode_within, EDNS_UDP_PAYLOAD};

/// A query to forward upstream, and what the reply to its client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub(crate) question: Question,
    /// The client's question as it asked it (letter case kept, RFC 4343; 0x20 clients check).
    pub(crate) query: Query,
    pub(crate) id: u16,
    pub(crate) recursion_desired: bool,
    pub(crate) checking_disabled: bool,
    pub(crate) client_edns: bool,
    pub(crate) reply_limit: usize,
}

/// A validated upstream reply (or a cached one with its TTLs aged), ready to answer a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub(crate) message: Message,
}

/// Why an upstream reply was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The bytes do not decode as a DNS message.
    #[error("malformed upstream reply: {reason}")]
    Malformed { reason: String },
    /// The message is a query, not a response.
    #[error("upstream sent a query (id {id}), not a response")]
    NotAResponse { id: u16 },
    /// The reply answers another query (a late or spoofed datagram).
    #[error("upstream reply id {got} does not match the query's {expected}")]
    IdMismatch { expected: u16, got: u16 },
    /// The reply's question is not the one asked.
    #[error("upstream reply is for {got:?}, not {expected}")]
    QuestionMismatch { expected: String, got: String },
}

impl Forward {
    /// The cache key of the question.
    pub fn question(&self) -> &Question {
        &self.question
    }

    /// The client's query id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The largest reply the client accepts on its transport.
    pub fn reply_limit(&self) -> usize {
        self.reply_limit
    }

    /// The query to send upstream with `id` (the shell picks it at random per attempt): the
    /// client's question with RD set and an EDNS payload of [`EDNS_UDP_PAYLOAD`].
    pub fn upstream_query(&self, id: u16) -> Vec<u8> {
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = true;
        message.metadata.checking_disabled = self.checking_disabled;
        message.add_query(self.query.clone());
        message.set_edns(our_edns());
        // A question that decoded from the wire re-encodes; the fallback cannot be reached.
        message.to_vec().unwrap_or_default()
    }

    /// Checks an upstream reply to [`Forward::upstream_query`] sent with `id`.
    pub fn accept(&self, id: u16, bytes: &[u8]) -> Result<Answer, UpstreamError> {
        let message = Message::from_vec(bytes).map_err(|e| UpstreamError::Malformed {
            reason: e.to_string(),
        })?;
        if message.metadata.message_type != MessageType::Response {
            return Err(UpstreamError::NotAResponse {
                id: message.metadata.id,
            });
        }
        if message.metadata.id != id {
            return Err(UpstreamError::IdMismatch {
                expected: id,
                got: message.metadata.id,
            });
        }
        let matches = match message.queries.as_slice() {
            [query] => Question::of(query) == self.question,
            _ => false,
        };
        if !matches {
            return Err(UpstreamError::QuestionMismatch {
                expected: self.question.to_string(),
                got: message
                    .queries
                    .iter()
                    .map(|q| Question::of(q).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(Answer { message })
    }

    /// The client's reply carrying `answer`: its id, its question, its RD bit, and EDNS if it
    /// sent EDNS, truncated to its limit.
    pub fn reply(&self, answer: &Answer) -> Vec<u8> {
        let mut message = answer.message.clone();
        message.metadata.id = self.id;
        message.metadata.recursion_desired = self.recursion_desired;
        message.metadata.recursion_available = true;
        message.metadata.authoritative = false;
        message.queries = vec![self.query.clone()];
        message.signature = None;
        message.edns = self.client_edns.then(our_edns);
        encode_within(&message, self.reply_limit)
    }

    /// SERVFAIL for the client: every upstream failed or timed out.
    pub fn servfail(&self) -> Vec<u8> {
        let mut message = Message::error_msg(self.id, OpCode::Query, ResponseCode::ServFail);
        message.metadata.recursion_desired = self.recursion_desired;
        message.metadata.recursion_available = true;
        message.add_query(self.query.clone());
        message.edns = self.client_edns.then(our_edns);
        encode_within(&message, self.reply_limit)
    }
}

impl Answer {
    /// TC is set: the shell retries the upstream over TCP.
    pub fn is_truncated(&self) -> bool {
        self.message.metadata.truncation
    }

    /// The name does not exist (NXDOMAIN).
    pub fn is_nxdomain(&self) -> bool {
        self.message.metadata.response_code == ResponseCode::NXDomain
    }

    /// The upstream failed (SERVFAIL).
    pub fn is_servfail(&self) -> bool {
        self.message.metadata.response_code == ResponseCode::ServFail
    }
}

/// The OPT record podnet sends: version 0, its UDP payload, no options.
pub(crate) fn our_edns() -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_UDP_PAYLOAD);
    edns.set_version(0);
    edns
}
