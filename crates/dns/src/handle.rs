//! The sans-IO entry point: query bytes in, an [`Action`] out. Cluster names are answered from
//! the [`Snapshot`] (authoritatively: NXDOMAIN and NODATA carry the SOA); anything else becomes
//! a [`Forward`] for the shell to send upstream. Any input bytes give an action, never a panic.
//!
//! The checks, in order: shorter than a header, or a response → dropped (answering responses
//! invites reflection loops); an opcode other than QUERY → NOTIMP; undecodable → FORMERR; not
//! exactly one question → FORMERR; EDNS version above 0 → BADVERS (RFC 6891 §6.1.3); a zone
//! transfer, or a class other than IN under the cluster domain → REFUSED.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::cache::Question;
use crate::forward::{our_edns, Forward};
use crate::lookup::{lookup, soa_record, Lookup};
use crate::snapshot::Snapshot;
use crate::wire::{
    encode_within, header_reply, id_and_flags, Transport, FLAG_QR, OPCODE_MASK, OPCODE_SHIFT,
    RCODE_FORMERR, RCODE_NOTIMP,
};

/// What the shell should do with one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes back to the client.
    Reply(Reply),
    /// Not a cluster name: answer from the cache or the upstreams.
    Forward(Forward),
    /// Send nothing.
    Drop(DropReason),
}

/// A reply the core built, and what kind it is (for the shell's counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub kind: ReplyKind,
}

/// The kind of a locally built reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// Records from the snapshot.
    Answer,
    /// The name exists without records of the type.
    NoData,
    /// The cluster name does not exist.
    NxDomain,
    /// The query did not decode, or did not ask exactly one question.
    FormErr,
    /// An opcode podnet does not implement.
    NotImp,
    /// A question podnet will not answer (zone transfer, non-IN cluster name).
    Refused,
    /// An EDNS version podnet does not speak.
    BadVers,
}

/// Why a datagram got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than the 12-byte header: there is no id to answer to.
    TooShort,
    /// QR is set: a response, not a query.
    Response,
}

/// Handles one query that came in on `transport`.
pub fn handle(snapshot: &Snapshot, query: &[u8], transport: Transport) -> Action {
    let Some((id, flags)) = id_and_flags(query) else {
        return Action::Drop(DropReason::TooShort);
    };
    if flags & FLAG_QR != 0 {
        return Action::Drop(DropReason::Response);
    }
    if (flags >> OPCODE_SHIFT) & OPCODE_MASK != u16::from(u8::from(OpCode::Query)) {
        return reply(header_reply(id, flags, RCODE_NOTIMP), ReplyKind::NotImp);
    }
    let formerr = || reply(header_reply(id, flags, RCODE_FORMERR), ReplyKind::FormErr);
    let Ok(request) = Message::from_vec(query) else {
        return formerr();
    };
    let [question] = request.queries.as_slice() else {
        return formerr();
    };
    let limit = transport.reply_limit(request.edns.as_ref());
    let mut response = Message::response(id, OpCode::Query);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.checking_disabled = request.metadata.checking_disabled;
    response.add_query(question.clone());
    if let Some(edns) = &request.edns {
        response.set_edns(our_edns());
        if edns.version() > 0 {
            response.metadata.response_code = ResponseCode::BADVERS;
            return reply(encode_within(&response, limit), ReplyKind::BadVers);
        }
    }
    let refuse = |mut response: Message| {
        response.metadata.response_code = ResponseCode::Refused;
        reply(encode_within(&response, limit), ReplyKind::Refused)
    };
    if matches!(question.query_type(), RecordType::AXFR | RecordType::IXFR) {
        return refuse(response);
    }
    let in_class = question.query_class() == DNSClass::IN;
    let found = lookup(snapshot, question.name(), question.query_type());
    let kind = match found {
        Lookup::Outside => {
            return Action::Forward(Forward {
                question: Question::of(question),
                query: question.clone(),
                id,
                recursion_desired: request.metadata.recursion_desired,
                checking_disabled: request.metadata.checking_disabled,
                client_edns: request.edns.is_some(),
                reply_limit: limit,
            });
        }
        _ if !in_class => return refuse(response),
        Lookup::Found {
            answers,
            additionals,
        } => {
            response.answers = answers;
            response.additionals = additionals;
            ReplyKind::Answer
        }
        Lookup::NoData => ReplyKind::NoData,
        Lookup::NxDomain => {
            response.metadata.response_code = ResponseCode::NXDomain;
            ReplyKind::NxDomain
        }
    };
    response.metadata.authoritative = true;
    if kind != ReplyKind::Answer {
        response.authorities.push(soa_record(snapshot));
    }
    reply(encode_within(&response, limit), kind)
}

fn reply(bytes: Vec<u8>, kind: ReplyKind) -> Action {
    Action::Reply(Reply { bytes, kind })
}
